{{/* Names and labels. */}}
{{- define "osprey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "osprey.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "osprey.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "osprey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: osprey
{{- end -}}

{{/* osprey.selectorLabels: dict "root" $ "role" "origin" */}}
{{- define "osprey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "osprey.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "osprey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "osprey.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "osprey.image" -}}
{{- $repo := required "osprey: image.repository is required: build the image with the Dockerfile at the root of the Osprey repository, push it to your registry and give its name" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (required "osprey: image.tag (or image.digest) is required: pin the version every role runs" .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Secret names: the user's existingSecret, else the chart's own Secret. */}}
{{- define "osprey.secretName" -}}
{{- include "osprey.fullname" . -}}
{{- end -}}

{{- define "osprey.adminTokenSecret" -}}
{{- default (include "osprey.secretName" .) .Values.adminToken.existingSecret -}}
{{- end -}}

{{- define "osprey.postgresSecret" -}}
{{- if .Values.postgres.existingSecret -}}
{{- .Values.postgres.existingSecret -}}
{{- else -}}
{{- $_ := required "osprey: postgres.url (or postgres.existingSecret) is required: a cluster keeps its catalog and job queue in an external PostgreSQL, e.g. postgres://osprey:PASSWORD@postgres:5432/osprey?sslmode=require" .Values.postgres.url -}}
{{- include "osprey.secretName" . -}}
{{- end -}}
{{- end -}}

{{/* The chart creates S3 keys in its Secret only when they are given as values. */}}
{{- define "osprey.s3Secret" -}}
{{- if .Values.s3.existingSecret -}}
{{- .Values.s3.existingSecret -}}
{{- else if not .Values.s3.ambientCredentials -}}
{{- $_ := required "osprey: s3.accessKeyId and s3.secretAccessKey (or s3.existingSecret, or s3.ambientCredentials=true for IRSA or an instance role) are required" .Values.s3.accessKeyId -}}
{{- $_ := required "osprey: s3.secretAccessKey is required with s3.accessKeyId" .Values.s3.secretAccessKey -}}
{{- include "osprey.secretName" . -}}
{{- end -}}
{{- end -}}

{{/* --storage: s3://BUCKET[/PREFIX]?endpoint=&region=&path_style=true */}}
{{- define "osprey.storageURL" -}}
{{- $bucket := required "osprey: s3.bucket is required: a cluster keeps its media in S3 or an S3-compatible server (set s3.endpoint for a self-hosted one)" .Values.s3.bucket -}}
{{- $u := printf "s3://%s" $bucket -}}
{{- with trimAll "/" .Values.s3.prefix -}}
{{- $u = printf "%s/%s" $u . -}}
{{- end -}}
{{- $q := list -}}
{{- with .Values.s3.endpoint -}}
{{- $q = append $q (printf "endpoint=%s" (urlquery .)) -}}
{{- end -}}
{{- with .Values.s3.region -}}
{{- $q = append $q (printf "region=%s" (urlquery .)) -}}
{{- end -}}
{{- if .Values.s3.pathStyle -}}
{{- $q = append $q "path_style=true" -}}
{{- end -}}
{{- if $q -}}
{{- $u = printf "%s?%s" $u (join "&" $q) -}}
{{- end -}}
{{- $u -}}
{{- end -}}

{{- define "osprey.eventsURL" -}}
{{- if not .Values.nats.existingSecret -}}
{{- required "osprey: nats.url (or nats.existingSecret) is required: the nodes of a cluster share events through NATS with JetStream, e.g. nats://nats:4222" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{/*
osprey.env: the environment of every Osprey pod. Secrets never go in
arguments (they show in process lists and in the pod spec).
*/}}
{{- define "osprey.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OSPREY_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "osprey.adminTokenSecret" . }}
      key: {{ .Values.adminToken.secretKey }}
{{- if .Values.nats.existingSecret }}
- name: OSPREY_EVENTS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.nats.existingSecret }}
      key: {{ .Values.nats.secretKey }}
{{- end }}
{{- end -}}

{{- define "osprey.serveEnv" -}}
{{ include "osprey.env" . }}
- name: OSPREY_CATALOG
  valueFrom:
    secretKeyRef:
      name: {{ include "osprey.postgresSecret" . }}
      key: {{ if .Values.postgres.existingSecret }}{{ .Values.postgres.secretKey }}{{ else }}postgres-url{{ end }}
{{- with include "osprey.s3Secret" . }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ if $.Values.s3.existingSecret }}{{ $.Values.s3.accessKeyIdKey }}{{ else }}AWS_ACCESS_KEY_ID{{ end }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ if $.Values.s3.existingSecret }}{{ $.Values.s3.secretAccessKeyKey }}{{ else }}AWS_SECRET_ACCESS_KEY{{ end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* osprey.serveArgs: dict "root" $ "role" "ingest" */}}
{{- define "osprey.serveArgs" -}}
{{- $v := .root.Values -}}
- serve
- --roles={{ .role }}
- --node-id=$(POD_NAME)
- --data=/data
- --http=:8080
- {{ printf "--storage=%s" (include "osprey.storageURL" .root) | quote }}
{{- with include "osprey.eventsURL" .root }}
- {{ printf "--events=%s" . | quote }}
{{- end }}
- {{ printf "--log-level=%s" $v.logLevel | quote }}
- {{ printf "--log-format=%s" $v.logFormat | quote }}
{{- with $v.publicURL }}
- {{ printf "--public-url=%s" . | quote }}
{{- end }}
{{- if $v.metrics.enabled }}
- --metrics-addr=:{{ $v.metrics.port }}
{{- end }}
{{- if $v.config }}
- --config=/etc/osprey/osprey.yaml
{{- end }}
{{- if eq .role "ingest" }}
- --rtmp=:1935
- --srt=:9000
{{- end }}
{{- if eq .role "api" }}
{{- with $v.ingestURL.rtmp }}
- {{ printf "--ingest-rtmp-url=%s" . | quote }}
{{- end }}
{{- with $v.ingestURL.srt }}
- {{ printf "--ingest-srt-url=%s" . | quote }}
{{- end }}
{{- end }}
{{- with $v.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* osprey.probes: dict "root" $ "readyPath" "/readyz" */}}
{{- define "osprey.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ $p.startup.periodSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: {{ .readyPath }}
    port: http
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{/*
osprey.podScheduling: dict "root" $ "role" ROLE "r" ROLE-VALUES. Without
topologySpreadConstraints of the role's own, spreadPods spreads its pods over
zones and nodes when it can (ScheduleAnyway), so that a zone lost leaves each
role running elsewhere.
*/}}
{{- define "osprey.podScheduling" -}}
{{- $sel := include "osprey.selectorLabels" (dict "root" .root "role" .role) }}
{{- with .r }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .topologySpreadConstraints | nindent 2 }}
{{- else if $.root.Values.spreadPods }}
topologySpreadConstraints:
  {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ $key }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- $sel | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* osprey.preStop: a role's values */}}
{{- define "osprey.preStop" -}}
{{- if .preStopSleepSeconds }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", "{{ .preStopSleepSeconds }}"]
{{- end }}
{{- end -}}
