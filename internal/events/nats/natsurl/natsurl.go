// Package natsurl parses the --events setting for NATS:
//
//	nats://HOST:PORT[,nats://HOST:PORT…][?stream=NAME&subject_prefix=P&replicas=N]
//
// Several servers are separated by commas (tls:// is accepted as nats.go
// takes it). The query options are all optional:
//
//   - stream: the JetStream stream's name (default OSPREY). No spaces,
//     '.', '*', '>', '/' or '\'; at most 255 bytes.
//   - subject_prefix: put in front of every subject on the wire, so that
//     P.osprey.> is used instead of osprey.>; dot-separated tokens without
//     spaces or wildcards, not starting with '$' (reserved by NATS).
//   - replicas: the stream's replica count on a JetStream cluster, 1 to 5
//     (default 1).
//
// The options may be given on any of the URLs, usually the first; when
// several URLs give one, the values must be equal. Other query keys are an
// error naming the key. It is a leaf package (standard library only), so
// that config validates the setting exactly as the bus reads it without
// importing nats.go.
package natsurl

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Query option keys.
const (
	KeyStream        = "stream"
	KeySubjectPrefix = "subject_prefix"
	KeyReplicas      = "replicas"
)

// MaxReplicas is the largest replica count JetStream allows.
const MaxReplicas = 5

// Spec is a parsed events URL.
type Spec struct {
	// Servers is the comma-separated server list without query options,
	// ready for nats.Connect.
	Servers       string
	Stream        string // "" = not given
	SubjectPrefix string // "" = not given
	Replicas      int    // 0 = not given
}

// Parse parses an events URL; see the package doc. Errors never repeat a
// URL (it may hold a password) nor the value of an unknown key.
func Parse(s string) (Spec, error) {
	var spec Spec
	if strings.TrimSpace(s) == "" {
		return spec, errors.New("empty NATS URL; want nats://HOST:PORT")
	}
	var servers []string
	given := map[string]string{}
	for i, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return Spec{}, fmt.Errorf("server %d: want nats://HOST:PORT (several separated by commas)", i+1)
		}
		if u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return Spec{}, fmt.Errorf("server %d: a NATS URL has no path or fragment; want nats://HOST:PORT[?stream=NAME&subject_prefix=P&replicas=N]", i+1)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Spec{}, fmt.Errorf("server %d: the query does not parse (check its escaping)", i+1)
		}
		for k, vs := range q {
			switch k {
			case KeyStream, KeySubjectPrefix, KeyReplicas:
			default:
				return Spec{}, fmt.Errorf("unknown events URL option %q (options: %s, %s, %s)", k, KeyStream, KeySubjectPrefix, KeyReplicas)
			}
			if len(vs) > 1 {
				return Spec{}, fmt.Errorf("events URL option %s given %d times on server %d", k, len(vs), i+1)
			}
			if prev, ok := given[k]; ok && prev != vs[0] {
				return Spec{}, fmt.Errorf("events URL option %s conflicts: %q and %q (give it once, on the first URL)", k, prev, vs[0])
			}
			given[k] = vs[0]
		}
		u.RawQuery, u.ForceQuery = "", false
		servers = append(servers, u.String())
	}
	spec.Servers = strings.Join(servers, ",")
	if v, ok := given[KeyStream]; ok {
		if err := CheckStream(v); err != nil {
			return Spec{}, fmt.Errorf("events URL option %s: %w", KeyStream, err)
		}
		spec.Stream = v
	}
	if v, ok := given[KeySubjectPrefix]; ok {
		if err := CheckSubjectPrefix(v); err != nil {
			return Spec{}, fmt.Errorf("events URL option %s: %w", KeySubjectPrefix, err)
		}
		spec.SubjectPrefix = v
	}
	if v, ok := given[KeyReplicas]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxReplicas {
			return Spec{}, fmt.Errorf("events URL option %s: %q must be a whole number from 1 to %d", KeyReplicas, v, MaxReplicas)
		}
		spec.Replicas = n
	}
	return spec, nil
}

// CheckStream reports whether name is a JetStream stream name NATS
// accepts.
func CheckStream(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > 255:
		return fmt.Errorf("%d bytes long; at most 255", len(name))
	}
	for _, r := range name {
		if strings.ContainsRune(".*>/\\", r) || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%q must not contain spaces, control characters or any of . * > / \\", name)
		}
	}
	return nil
}

// CheckSubjectPrefix reports whether p is a literal subject prefix: one or
// more dot-separated tokens without spaces or wildcards, not starting
// with '$'.
func CheckSubjectPrefix(p string) error {
	if p == "" {
		return errors.New("must not be empty")
	}
	if strings.HasPrefix(p, "$") {
		return fmt.Errorf("%q must not start with '$' (subjects reserved by NATS)", p)
	}
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "" {
			return fmt.Errorf("%q has an empty token (a leading, trailing or doubled '.')", p)
		}
		for _, r := range tok {
			if r == '*' || r == '>' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
				return fmt.Errorf("%q must not contain spaces, control characters, '*' or '>'", p)
			}
		}
	}
	return nil
}
