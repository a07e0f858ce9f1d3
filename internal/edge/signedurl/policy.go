package signedurl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Policy is a custom policy: the resource it grants (a URL, possibly with
// '*' and '?' wildcards), the time it expires, and optionally the time it
// starts and the client addresses it is limited to.
type Policy struct {
	Resource        string
	DateLessThan    time.Time // required: requests must come before it
	DateGreaterThan time.Time // zero: none; else requests must come after it
	IPAddress       string    // CIDR (a bare address means that one address); "": any
}

// jsonString encodes s as a JSON string the way the AWS SDK for Go does
// (encoding/json without HTML escaping).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// cannedPolicy returns the bytes a canned-policy signature covers.
func cannedPolicy(resource string, expires int64) []byte {
	return []byte(`{"Statement":[{"Resource":` + jsonString(resource) +
		`,"Condition":{"DateLessThan":{"AWS:EpochTime":` + strconv.FormatInt(expires, 10) + `}}}]}`)
}

// encode returns the policy's JSON with no whitespace, its conditions in
// the AWS SDK for Go's order, so that both sign identical bytes.
func (p Policy) encode() ([]byte, error) {
	if p.DateLessThan.IsZero() {
		return nil, fmt.Errorf("policy needs a DateLessThan (expiry) time")
	}
	if !p.DateGreaterThan.IsZero() && p.DateGreaterThan.Unix() >= p.DateLessThan.Unix() {
		return nil, fmt.Errorf("policy starts (%s) at or after it expires (%s)", rfc3339(p.DateGreaterThan.Unix()), rfc3339(p.DateLessThan.Unix()))
	}
	for _, r := range p.Resource {
		if r < 0x20 || r > 0x7e {
			return nil, fmt.Errorf("policy resource %q has non-ASCII or control characters; percent-encode them", p.Resource)
		}
	}
	var b strings.Builder
	b.WriteString(`{"Statement":[{"Resource":` + jsonString(p.Resource) + `,"Condition":{`)
	if p.IPAddress != "" {
		pfx, err := parseSourceIP(p.IPAddress)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"IpAddress":{"AWS:SourceIp":` + jsonString(pfx.String()) + `},`)
	}
	if !p.DateGreaterThan.IsZero() {
		b.WriteString(`"DateGreaterThan":{"AWS:EpochTime":` + strconv.FormatInt(p.DateGreaterThan.Unix(), 10) + `},`)
	}
	b.WriteString(`"DateLessThan":{"AWS:EpochTime":` + strconv.FormatInt(p.DateLessThan.Unix(), 10) + `}}}]}`)
	return []byte(b.String()), nil
}

// parsedPolicy is a custom policy as read from a request.
type parsedPolicy struct {
	resource    string
	anyResource bool // Resource omitted: every resource
	lessThan    int64
	greaterThan int64
	hasGreater  bool
	sourceIP    netip.Prefix
	hasIP       bool
}

// parsePolicy reads a custom policy. It is strict: keys are matched exactly
// (CloudFront: "include all punctuation and parameter names exactly as
// specified"), there must be exactly one statement, DateLessThan is
// required, and unknown keys are refused rather than ignored, so that a
// condition this package does not know never widens access.
func parsePolicy(data []byte) (parsedPolicy, error) {
	var pp parsedPolicy
	top, err := object(data, "policy")
	if err != nil {
		return pp, err
	}
	if err := onlyKeys(top, "policy", "Statement"); err != nil {
		return pp, err
	}
	raw, ok := top["Statement"]
	if !ok {
		return pp, fmt.Errorf("policy has no Statement")
	}
	var stmts []json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) || json.Unmarshal(raw, &stmts) != nil {
		return pp, fmt.Errorf("policy Statement is not a list")
	}
	if len(stmts) != 1 {
		return pp, fmt.Errorf("policy has %d statements; it must have exactly one", len(stmts))
	}
	stmt, err := object(stmts[0], "policy statement")
	if err != nil {
		return pp, err
	}
	if err := onlyKeys(stmt, "policy statement", "Resource", "Condition"); err != nil {
		return pp, err
	}
	if raw, ok := stmt["Resource"]; ok {
		if pp.resource, err = str(raw, "policy Resource"); err != nil {
			return pp, err
		}
	} else {
		// "If you omit the Resource parameter ..., users can access all of
		// the objects associated with any distribution that is associated
		// with the key pair that you use to create the signed URL."
		pp.anyResource = true
	}
	raw, ok = stmt["Condition"]
	if !ok {
		return pp, fmt.Errorf("policy has no Condition (DateLessThan is required)")
	}
	cond, err := object(raw, "policy Condition")
	if err != nil {
		return pp, err
	}
	if err := onlyKeys(cond, "policy Condition", "DateLessThan", "DateGreaterThan", "IpAddress"); err != nil {
		return pp, err
	}
	raw, ok = cond["DateLessThan"]
	if !ok {
		return pp, fmt.Errorf("policy has no DateLessThan condition")
	}
	if pp.lessThan, err = epochTime(raw, "DateLessThan"); err != nil {
		return pp, err
	}
	if raw, ok := cond["DateGreaterThan"]; ok {
		if pp.greaterThan, err = epochTime(raw, "DateGreaterThan"); err != nil {
			return pp, err
		}
		pp.hasGreater = true
	}
	if raw, ok := cond["IpAddress"]; ok {
		obj, err := object(raw, "IpAddress condition")
		if err != nil {
			return pp, err
		}
		if err := onlyKeys(obj, "IpAddress condition", "AWS:SourceIp"); err != nil {
			return pp, err
		}
		raw, ok := obj["AWS:SourceIp"]
		if !ok {
			return pp, fmt.Errorf("IpAddress condition has no AWS:SourceIp")
		}
		s, err := str(raw, "AWS:SourceIp")
		if err != nil {
			return pp, err
		}
		if pp.sourceIP, err = parseSourceIP(s); err != nil {
			return pp, err
		}
		pp.hasIP = true
	}
	return pp, nil
}

// parseSourceIP reads an AWS:SourceIp value: a CIDR, or one address.
func parseSourceIP(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("AWS:SourceIp %q has a zone", clip(s))
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("AWS:SourceIp %q is not an IP address or CIDR range", clip(s))
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func object(data []byte, what string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) || json.Unmarshal(data, &m) != nil {
		return nil, fmt.Errorf("%s is not a JSON object", what)
	}
	return m, nil
}

func onlyKeys(m map[string]json.RawMessage, what string, allowed ...string) error {
next:
	for k := range m {
		for _, a := range allowed {
			if k == a {
				continue next
			}
		}
		return fmt.Errorf("%s has unsupported key %q (allowed: %s)", what, clip(k), strings.Join(allowed, ", "))
	}
	return nil
}

func str(raw json.RawMessage, what string) (string, error) {
	var s string
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s is not a string", what)
	}
	return s, nil
}

// epochTime reads {"AWS:EpochTime": <integer seconds>}.
func epochTime(raw json.RawMessage, what string) (int64, error) {
	obj, err := object(raw, what)
	if err != nil {
		return 0, err
	}
	if err := onlyKeys(obj, what, "AWS:EpochTime"); err != nil {
		return 0, err
	}
	v, ok := obj["AWS:EpochTime"]
	if !ok {
		return 0, fmt.Errorf("%s has no AWS:EpochTime", what)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s AWS:EpochTime %s is not whole Unix seconds", what, clip(string(v)))
	}
	return n, nil
}

func rfc3339(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
