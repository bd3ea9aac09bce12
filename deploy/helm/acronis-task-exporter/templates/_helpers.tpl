{{/*
Names and labels, in the shape `helm create` uses, so that tools expecting the standard
app.kubernetes.io labels find them.
*/}}

{{- define "acronis-task-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "acronis-task-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "acronis-task-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acronis-task-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "acronis-task-exporter.labels" -}}
helm.sh/chart: {{ include "acronis-task-exporter.chart" . }}
{{ include "acronis-task-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: exporter
{{- end }}

{{- define "acronis-task-exporter.testSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "acronis-task-exporter.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "acronis-task-exporter.testLabels" -}}
helm.sh/chart: {{ include "acronis-task-exporter.chart" . }}
{{ include "acronis-task-exporter.testSelectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: test
{{- end }}

{{- define "acronis-task-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "acronis-task-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference: global.imageRegistry, else the image's own registry, before the
repository; the digest when set, else the tag, else "tag". Call with
(dict "image" .Values.image "tag" <default tag> "root" $).
*/}}
{{- define "acronis-task-exporter.imageRef" -}}
{{- $registry := default .image.registry (dig "imageRegistry" "" (default dict .root.Values.global)) }}
{{- $repository := .image.repository }}
{{- with $registry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .tag .image.tag) }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.image" -}}
{{- include "acronis-task-exporter.imageRef" (dict "image" .Values.image "tag" .Chart.AppVersion "root" .) }}
{{- end }}

{{/*
The Prometheus job name: .Values.jobName, else the chart name (the Service's
app.kubernetes.io/name label). The ServiceMonitor sets it, and the alert rules select on it.
*/}}
{{- define "acronis-task-exporter.jobName" -}}
{{- default (include "acronis-task-exporter.name" .) .Values.jobName }}
{{- end }}

{{/*
A rule file (Prometheus or Grafana-managed) with the chart's job name written into its job
selectors and, when .Values.runbookUrl is set, its runbook links pointed at that document
(the anchors stay). Call with (dict "text" ... "root" $).
*/}}
{{- define "acronis-task-exporter.rulesText" -}}
{{- $text := .text | replace "job=\"acronis-task-exporter\"" (printf "job=%q" (include "acronis-task-exporter.jobName" .root)) }}
{{- with .root.Values.runbookUrl }}
{{- $text = regexReplaceAll "runbook_url: [^#\\s]+#" $text (printf "runbook_url: %s#" .) }}
{{- end }}
{{- $text }}
{{- end }}

{{/*
The exporter's YAML settings: .Values.config without empty strings, so that an unset
value means the exporter's default (and a missing api.url gets its one-line error).
*/}}
{{- define "acronis-task-exporter.config" -}}
{{- $config := dict }}
{{- range $section, $settings := .Values.config }}
{{- $kept := dict }}
{{- range $key, $value := $settings }}
{{- if not (eq (toString $value) "") }}
{{- $_ := set $kept $key $value }}
{{- end }}
{{- end }}
{{- if $kept }}
{{- $_ := set $config $section $kept }}
{{- end }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{- define "acronis-task-exporter.credentialsDir" -}}
/etc/acronis-task-exporter/credentials
{{- end }}

{{- define "acronis-task-exporter.tlsDir" -}}
/etc/acronis-task-exporter/tls
{{- end }}

{{- define "acronis-task-exporter.webAuthDir" -}}
/etc/acronis-task-exporter/web-auth
{{- end }}

{{/*
Render-time checks: what would otherwise install silently and crash-loop. Demo mode needs
neither URL nor credentials. An existing Secret cannot be read at render time; the NOTES
name the keys it must hold.
*/}}
{{- define "acronis-task-exporter.validate" -}}
{{- $names := list }}
{{- range .Values.accounts }}
{{- if has .name $names }}
{{- fail (printf "accounts: the name %q appears twice; each account needs its own name" .name) }}
{{- end }}
{{- $names = append $names .name }}
{{- end }}
{{- if not .Values.demo }}
{{- range $instance := include "acronis-task-exporter.instances" . | fromJsonArray }}
{{- include "acronis-task-exporter.validateInstance" $instance }}
{{- end }}
{{- end }}
{{- if and .Values.web.tls.enabled (not .Values.web.tls.secretName) }}
{{- fail "web.tls.secretName is required when web.tls.enabled: a Secret with tls.crt and tls.key" }}
{{- end }}
{{- with .Values.web.basicAuth }}
{{- if and .enabled (not .existingSecret) (or (not .username) (not .password)) }}
{{- fail "web.basicAuth.username and web.basicAuth.password are required when web.basicAuth.enabled (or web.basicAuth.existingSecret)" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.webAuthSecretName" -}}
{{- default (printf "%s-web-auth" (include "acronis-task-exporter.fullname" .)) .Values.web.basicAuth.existingSecret }}
{{- end }}

{{/* The listener's flags: TLS files and the basic-auth password file, from mounted Secrets. */}}
{{- define "acronis-task-exporter.webArgs" -}}
- --web.listen-address=:{{ .Values.service.port }}
{{- if .Values.web.tls.enabled }}
- --web.tls-cert-file={{ include "acronis-task-exporter.tlsDir" . }}/tls.crt
- --web.tls-key-file={{ include "acronis-task-exporter.tlsDir" . }}/tls.key
{{- end }}
{{- if .Values.web.basicAuth.enabled }}
- --web.basic-auth-password-file={{ include "acronis-task-exporter.webAuthDir" . }}/{{ .Values.web.basicAuth.keys.password }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.scheme" -}}
{{- ternary "https" "http" .Values.web.tls.enabled }}
{{- end }}

{{/*
One scrape endpoint of a ServiceMonitor or PodMonitor: the port, the scheme, TLS and basic
auth as the listener wants them, the job relabeling the alert rules rely on, then the
user's settings. Call with (dict "monitor" .Values.serviceMonitor "port" <name> "instance" <an
instance> "root" $).
*/}}
{{- define "acronis-task-exporter.scrapeEndpoint" -}}
{{- $root := .root }}
{{- $web := $root.Values.web }}
- port: {{ .port }}
  path: /metrics
  scheme: {{ include "acronis-task-exporter.scheme" $root }}
  interval: {{ .monitor.interval }}
  scrapeTimeout: {{ .monitor.scrapeTimeout }}
  honorLabels: {{ .monitor.honorLabels }}
  {{- if $web.tls.enabled }}
  tlsConfig:
    {{- if $web.tls.scrapeTlsConfig }}
    {{- toYaml $web.tls.scrapeTlsConfig | nindent 4 }}
    {{- else }}
    ca:
      secret:
        name: {{ $web.tls.secretName }}
        key: ca.crt
    serverName: {{ printf "%s.%s.svc" .instance.name $root.Release.Namespace }}
    {{- end }}
  {{- end }}
  {{- if $web.basicAuth.enabled }}
  basicAuth:
    username:
      name: {{ include "acronis-task-exporter.webAuthSecretName" $root }}
      key: {{ $web.basicAuth.keys.username }}
    password:
      name: {{ include "acronis-task-exporter.webAuthSecretName" $root }}
      key: {{ $web.basicAuth.keys.password }}
  {{- end }}
  relabelings:
    - targetLabel: job
      replacement: {{ include "acronis-task-exporter.jobName" $root | quote }}
    {{- with .monitor.relabelings }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .monitor.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
Namespaces that need the scrape credentials: the pod's, and each enabled monitor's
(Prometheus Operator reads basicAuth Secrets from the monitor's namespace).
*/}}
{{- define "acronis-task-exporter.webAuthNamespaces" -}}
{{- $namespaces := list .Release.Namespace }}
{{- range $monitor := list .Values.serviceMonitor .Values.podMonitor }}
{{- if $monitor.enabled }}
{{- $namespaces = append $namespaces (default $.Release.Namespace $monitor.namespace) }}
{{- end }}
{{- end }}
{{- toJson (uniq $namespaces) }}
{{- end }}
