package main

import (
	"fmt"
	"slices"
	"strings"
)

// result is one assertion on the rendered chart.
type result struct {
	ok  bool
	msg string
	got string // what was found, shown when the check fails
}

// collector gathers results, prefixing each message.
type collector struct {
	prefix string
	rs     []result
}

// add records a check; got is what was found, shown only on failure
// (nil: nothing to show).
func (c *collector) add(ok bool, got any, format string, args ...any) {
	r := result{ok: ok, msg: c.prefix + fmt.Sprintf(format, args...)}
	if got != nil {
		r.got = fmt.Sprint(got)
	}
	c.rs = append(c.rs, r)
}

// manifests indexes rendered objects by kind.
type manifests map[string][]object

func byKind(objs []object) manifests {
	m := manifests{}
	for _, o := range objs {
		m[str(o, "kind")] = append(m[str(o, "kind")], o)
	}
	return m
}

func component(o object) string {
	return str(o, "metadata", "labels", "app.kubernetes.io/component")
}

// find returns the object of kind whose component label is comp, or nil.
func (m manifests) find(kind, comp string) object {
	for _, o := range m[kind] {
		if component(o) == comp {
			return o
		}
	}
	return nil
}

// components lists, sorted, the component labels of the objects of kind.
func (m manifests) components(kind string) []string {
	var cs []string
	for _, o := range m[kind] {
		cs = append(cs, component(o))
	}
	slices.Sort(cs)
	return cs
}

var (
	roles     = []string{"ingest", "origin", "api", "worker"}
	withEdge  = []string{"api", "edge", "ingest", "origin", "worker"}
	scaledOut = []string{"osprey-origin", "osprey-worker"}
)

// check runs every assertion on the chart rendered with the example values.
func check(objs []object) []result {
	m := byKind(objs)
	c := &collector{}
	got := m.components("Deployment")
	c.add(slices.Equal(got, withEdge), got, "Deployments: the 4 roles and the edge")
	for _, role := range roles {
		checkRole(&collector{prefix: role + ": "}, m, role, c)
	}
	checkScaling(c, m)
	checkServices(c, m)
	return c.rs
}

// container is the first container of a Deployment's pods.
func container(d object) any {
	return get(d, "spec", "template", "spec", "containers", 0)
}

func args(c any) []string {
	var as []string
	for _, a := range list(c, "args") {
		s, _ := a.(string)
		as = append(as, s)
	}
	return as
}

func hasPrefix(as []string, prefix string) bool {
	return slices.ContainsFunc(as, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

// envFrom maps each environment variable to its valueFrom.
func envFrom(c any) map[string]any {
	env := map[string]any{}
	for _, e := range list(c, "env") {
		env[str(e, "name")] = get(e, "valueFrom")
	}
	return env
}

// checkRole checks the Deployment of one role into rc, then appends rc's
// results to out.
func checkRole(rc *collector, m manifests, role string, out *collector) {
	defer func() { out.rs = append(out.rs, rc.rs...) }()
	d := m.find("Deployment", role)
	if d == nil {
		rc.add(false, nil, "no Deployment")
		return
	}
	c := container(d)
	as := args(c)
	rc.add(len(as) > 0 && as[0] == "serve" && slices.Contains(as, "--roles="+role) &&
		hasPrefix(as, "--storage=s3://osprey-media/prod?") && hasPrefix(as, "--events=nats://") &&
		slices.Contains(as, "--node-id=$(POD_NAME)") && slices.Contains(as, "--data=/data"),
		as, "osprey serve --roles %s --storage s3://… --events nats://… --node-id $(POD_NAME) --data /data", role)
	env := envFrom(c)
	rc.add(str(env["OSPREY_ADMIN_TOKEN"], "secretKeyRef", "name") == "osprey-admin" &&
		str(env["OSPREY_CATALOG"], "secretKeyRef", "name") == "osprey-postgres" &&
		str(env["AWS_ACCESS_KEY_ID"], "secretKeyRef", "name") == "osprey" &&
		str(env["AWS_SECRET_ACCESS_KEY"], "secretKeyRef", "name") == "osprey" &&
		str(env["POD_NAME"], "fieldRef", "fieldPath") == "metadata.name",
		env, "admin token, catalog URL and S3 keys from Secrets, POD_NAME from the downward API")
	joined := strings.Join(as, " ")
	rc.add(!strings.Contains(joined, "postgres://") && !strings.Contains(joined, "example-secret-key"),
		nil, "no credential in the arguments")
	rc.add(str(c, "livenessProbe", "httpGet", "path") == "/healthz" &&
		str(c, "startupProbe", "httpGet", "path") == "/healthz" &&
		str(c, "readinessProbe", "httpGet", "path") == "/readyz",
		[]string{str(c, "livenessProbe", "httpGet", "path"), str(c, "startupProbe", "httpGet", "path"), str(c, "readinessProbe", "httpGet", "path")},
		"liveness and startup probes on /healthz, readiness on /readyz")
	pod := get(d, "spec", "template", "spec")
	rc.add(get(pod, "securityContext", "runAsNonRoot") == true &&
		get(c, "securityContext", "readOnlyRootFilesystem") == true &&
		get(pod, "volumes", 0, "emptyDir") != nil && str(c, "volumeMounts", 0, "mountPath") == "/data",
		nil, "non-root, read-only root filesystem, --data on an emptyDir")
	rc.add(str(pod, "topologySpreadConstraints", 0, "topologyKey") == "topology.kubernetes.io/zone" &&
		str(pod, "topologySpreadConstraints", 0, "labelSelector", "matchLabels", "app.kubernetes.io/component") == role,
		nil, "pods spread over zones")
	grace := num(pod, "terminationGracePeriodSeconds")
	switch role {
	case "ingest":
		// Live sessions end their playlists within 30 s, then HTTP within 5 s.
		rc.add(grace >= 45, nil, "terminationGracePeriodSeconds %d ≥ 45", grace)
	case "worker":
		// The job queue stops within 10 s, then HTTP within 5 s.
		rc.add(grace >= 30, nil, "terminationGracePeriodSeconds %d ≥ 30", grace)
	case "api":
		rc.add(slices.Contains(as, "--ingest-rtmp-url=rtmp://ingest.example.com:1935/live") &&
			slices.Contains(as, "--ingest-srt-url=srt://ingest.example.com:9000"),
			as, "--ingest-rtmp-url and --ingest-srt-url")
	}
}

func checkScaling(c *collector, m manifests) {
	var hpas []string
	for _, h := range m["HorizontalPodAutoscaler"] {
		if str(h, "apiVersion") == "autoscaling/v2" && str(h, "spec", "scaleTargetRef", "kind") == "Deployment" {
			hpas = append(hpas, str(h, "spec", "scaleTargetRef", "name"))
		}
	}
	slices.Sort(hpas)
	c.add(slices.Equal(hpas, scaledOut), hpas, "HorizontalPodAutoscalers (autoscaling/v2) for origin and worker")
	c.add(get(m.find("Deployment", "origin"), "spec", "replicas") == nil &&
		get(m.find("Deployment", "worker"), "spec", "replicas") == nil &&
		num(m.find("Deployment", "ingest"), "spec", "replicas") > 0,
		nil, "autoscaled Deployments leave replicas to their HPA; the others set them")
	pdbs := m.components("PodDisruptionBudget")
	c.add(slices.Equal(pdbs, withEdge), pdbs, "PodDisruptionBudgets for every role and the edge")
}

func checkServices(c *collector, m manifests) {
	in := m.find("Service", "ingest")
	var ports []string
	for _, p := range list(in, "spec", "ports") {
		ports = append(ports, fmt.Sprintf("%s %d/%s", str(p, "name"), num(p, "port"), str(p, "protocol")))
	}
	c.add(str(in, "spec", "type") == "LoadBalancer" && slices.Equal(ports, []string{"rtmp 1935/TCP", "srt 9000/UDP"}),
		fmt.Sprint(str(in, "spec", "type"), " ", ports), "ingest Service: LoadBalancer with RTMP 1935/TCP and SRT 9000/UDP")
	c.add(str(m.find("Service", "origin"), "spec", "type") == "ClusterIP" &&
		str(m.find("Service", "api"), "spec", "type") == "ClusterIP",
		nil, "origin and api Services: ClusterIP")
	ing := m["Ingress"]
	paths := func(i int) string {
		return str(ing[0], "spec", "rules", 0, "http", "paths", i, "path") + " → " +
			str(ing[0], "spec", "rules", 0, "http", "paths", i, "backend", "service", "name")
	}
	c.add(len(ing) == 1 && paths(0) == "/api/ → osprey-api" && paths(1) == "/ → osprey-origin",
		nil, "Ingress: /api/ to the api Service, the rest to the origin")
	edge := args(container(m.find("Deployment", "edge")))
	c.add(len(edge) > 0 && edge[0] == "edge" && slices.Contains(edge, "--origin=http://osprey-origin:8080") &&
		hasPrefix(edge, "--events=nats://"),
		edge, "edge: osprey edge --origin http://osprey-origin:8080 --events nats://…")
}
