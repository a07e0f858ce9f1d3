// Command helmcheck asserts what the Osprey Helm chart renders. scripts/helm-check
// runs `helm template osprey deploy/helm/osprey -f deploy/helm/osprey/ci/example-values.yaml`
// and passes the output to it:
//
//	go run ./deploy/helm/helmcheck rendered.yaml
//
// It prints one line per check ("helm-check: ok: …" or, on standard error,
// "helm-check: FAIL: …") and exits 1 when a check fails, 2 when the input
// cannot be read. The expectations follow the example values (release
// "osprey", bucket "osprey-media", the edge and the Ingress enabled).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: helmcheck RENDERED.yaml")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "helm-check: %v\n", err)
		return 2
	}
	defer f.Close()
	objs, err := parse(f)
	if err != nil {
		fmt.Fprintf(stderr, "helm-check: FAIL: %v\n", err)
		return 1
	}
	failed := 0
	for _, r := range check(objs) {
		if r.ok {
			fmt.Fprintln(stdout, "helm-check: ok: "+r.msg)
		} else {
			msg := "helm-check: FAIL: " + r.msg
			if r.got != "" {
				msg += " (got " + r.got + ")"
			}
			fmt.Fprintln(stderr, msg)
			failed++
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// object is one Kubernetes manifest, as YAML decodes it.
type object = map[string]any

// parse decodes every YAML document of r, skipping empty ones.
func parse(r io.Reader) ([]object, error) {
	dec := yaml.NewDecoder(r)
	var objs []object
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("rendered YAML does not parse (document %d): %w", len(objs)+1, err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
}

// get walks o along path: string keys index maps, ints index lists. A
// missing step gives nil.
func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := o.(object)
			if !ok {
				return nil
			}
			o = m[k]
		case int:
			l, ok := o.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func str(o any, path ...any) string {
	s, _ := get(o, path...).(string)
	return s
}

func num(o any, path ...any) int {
	n, _ := get(o, path...).(int)
	return n
}

func list(o any, path ...any) []any {
	l, _ := get(o, path...).([]any)
	return l
}
