package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/example.yaml is `helm template osprey deploy/helm/osprey -f
// deploy/helm/osprey/ci/example-values.yaml --kube-version 1.31.0 --namespace video`;
// scripts/helm-check renders the chart itself, these tests check the checker.
func loadExample(t *testing.T) []object {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func failures(rs []result) []string {
	var fs []string
	for _, r := range rs {
		if !r.ok {
			fs = append(fs, r.msg)
		}
	}
	return fs
}

func TestExamplePasses(t *testing.T) {
	rs := check(loadExample(t))
	if len(rs) < 30 {
		t.Errorf("only %d checks ran", len(rs))
	}
	if fs := failures(rs); len(fs) > 0 {
		t.Errorf("failures on the example: %q", fs)
	}
}

// Each broken manifest must fail exactly the checks that name what broke.
func TestBrokenManifestsFail(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m manifests)
		want   []string // prefixes of the failing checks
	}{
		{"no worker HPA", func(m manifests) {
			m["HorizontalPodAutoscaler"] = m["HorizontalPodAutoscaler"][:1]
		}, []string{"HorizontalPodAutoscalers"}},
		{"SRT over TCP", func(m manifests) {
			get(m.find("Service", "ingest"), "spec", "ports", 1).(object)["protocol"] = "TCP"
		}, []string{"ingest Service"}},
		{"ingest Service not a load balancer", func(m manifests) {
			get(m.find("Service", "ingest"), "spec").(object)["type"] = "ClusterIP"
		}, []string{"ingest Service"}},
		{"readiness on /healthz", func(m manifests) {
			get(container(m.find("Deployment", "api")), "readinessProbe", "httpGet").(object)["path"] = "/healthz"
		}, []string{"api: liveness"}},
		{"catalog URL in the arguments", func(m manifests) {
			c := container(m.find("Deployment", "worker")).(object)
			c["args"] = append(c["args"].([]any), "--catalog=postgres://u:p@h/db")
		}, []string{"worker: no credential"}},
		{"short ingest grace period", func(m manifests) {
			get(m.find("Deployment", "ingest"), "spec", "template", "spec").(object)["terminationGracePeriodSeconds"] = 30
		}, []string{"ingest: terminationGracePeriodSeconds"}},
		{"no PDB for origin", func(m manifests) {
			var keep []object
			for _, p := range m["PodDisruptionBudget"] {
				if component(p) != "origin" {
					keep = append(keep, p)
				}
			}
			m["PodDisruptionBudget"] = keep
		}, []string{"PodDisruptionBudgets"}},
		{"replicas fixed on an autoscaled role", func(m manifests) {
			get(m.find("Deployment", "origin"), "spec").(object)["replicas"] = 2
		}, []string{"autoscaled Deployments"}},
		{"pods not spread", func(m manifests) {
			delete(get(m.find("Deployment", "origin"), "spec", "template", "spec").(object), "topologySpreadConstraints")
		}, []string{"origin: pods spread"}},
		{"wrong role", func(m manifests) {
			c := container(m.find("Deployment", "origin")).(object)
			c["args"].([]any)[1] = "--roles=origin,api"
		}, []string{"origin: osprey serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := loadExample(t)
			m := byKind(objs)
			tt.mutate(m)
			var all []object
			for _, group := range m {
				all = append(all, group...)
			}
			fs := failures(check(all))
			if len(fs) != len(tt.want) {
				t.Fatalf("failures %q, want %d starting with %q", fs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(fs[i], w) {
					t.Errorf("failure %q, want it to start with %q", fs[i], w)
				}
			}
		})
	}
}

func TestMissingDeploymentFails(t *testing.T) {
	var objs []object
	for _, o := range loadExample(t) {
		if !(str(o, "kind") == "Deployment" && component(o) == "ingest") {
			objs = append(objs, o)
		}
	}
	fs := strings.Join(failures(check(objs)), "\n")
	for _, want := range []string{"Deployments: the 4 roles", "ingest: no Deployment"} {
		if !strings.Contains(fs, want) {
			t.Errorf("failures %q lack %q", fs, want)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.yaml")
	if err := os.WriteFile(dup, []byte("kind: Service\nmetadata:\n  labels:\n    a: 1\n    a: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("---\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		errWant string
	}{
		{"example", []string{filepath.Join("testdata", "example.yaml")}, 0, ""},
		{"duplicate key", []string{dup}, 1, "does not parse"},
		{"nothing rendered", []string{empty}, 1, "FAIL: Deployments"},
		{"missing file", []string{filepath.Join(dir, "none.yaml")}, 2, "no such file"},
		{"no argument", nil, 2, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.errWant) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.errWant)
			}
			if tt.code == 0 && !strings.Contains(stdout.String(), "helm-check: ok: ingest Service") {
				t.Errorf("stdout lacks the ok lines:\n%s", stdout.String())
			}
		})
	}
}
