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

{{- define "acronis-task-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "acronis-task-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "acronis-task-exporter.secretName" -}}
{{- default (include "acronis-task-exporter.fullname" .) .Values.credentials.existingSecret }}
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
