{{/*
Instances: one exporter (Deployment, Service, Secret, monitors, test pod) per entry. Without
`accounts` there is one instance named <fullname> with no `account` label, rendered exactly
as before (its Deployment selector is immutable, so an upgrade must not change it). With
`accounts`, one instance per account, named <fullname>-<account> and labelled
account=<name>. Returned as a JSON list of:
  name: resource name; account: "" or the account's name;
  acronis: {url, tenantId, flags (true: --api.url/--api.tenant-id as flags, not ConfigMap)};
  credentials: method, existingSecret, keys and inline values;
  astra: url, accountId, existingSecret, keys.token, token;
  extraArgs: the chart's extraArgs and then the account's.
*/}}
{{- define "acronis-task-exporter.instances" -}}
{{- $fullname := include "acronis-task-exporter.fullname" . }}
{{- $instances := list }}
{{- if .Values.accounts }}
{{- range .Values.accounts }}
{{- $credentials := merge (deepCopy (default dict .credentials)) (pick $.Values.credentials "method" "keys") }}
{{- $astra := merge (deepCopy (default dict .astra)) (pick $.Values.astra "url" "keys") }}
{{- $api := default dict .api }}
{{- $acronis := dict "url" (default $.Values.config.api.url $api.url) "tenantId" (default "" .tenantId) "flags" true }}
{{- $instances = append $instances (dict "name" (printf "%s-%s" $fullname .name | trunc 63 | trimSuffix "-") "account" .name "acronis" $acronis "credentials" $credentials "astra" $astra "extraArgs" (concat $.Values.extraArgs (default list .extraArgs))) }}
{{- end }}
{{- else }}
{{- $acronis := dict "url" .Values.config.api.url "tenantId" "" "flags" false }}
{{- $instances = append $instances (dict "name" $fullname "account" "" "acronis" $acronis "credentials" .Values.credentials "astra" .Values.astra "extraArgs" .Values.extraArgs) }}
{{- end }}
{{- toJson $instances }}
{{- end }}

{{/* The instance's own labels: the account, when it has one. */}}
{{- define "acronis-task-exporter.accountLabel" -}}
{{- with .account }}
account: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Whether the instance polls Acronis (its URL is set) and Astra Control (astra.url set). */}}
{{- define "acronis-task-exporter.hasAcronis" -}}
{{- if .acronis.url }}true{{ end }}
{{- end }}

{{- define "acronis-task-exporter.hasAstra" -}}
{{- if .astra.url }}true{{ end }}
{{- end }}

{{/* The Secret the chart creates for an instance: needed when some credential is inline. */}}
{{- define "acronis-task-exporter.ownSecret" -}}
{{- if or (and (include "acronis-task-exporter.hasAcronis" .) (not .credentials.existingSecret)) (and (include "acronis-task-exporter.hasAstra" .) (not .astra.existingSecret)) }}true{{ end }}
{{- end }}

{{- define "acronis-task-exporter.astraDir" -}}
/etc/acronis-task-exporter/astra
{{- end }}

{{/*
Render-time checks of one instance (not in demo mode): at least one of Acronis and Astra
Control, and what each needs, so that nothing installs only to crash-loop. An existing
Secret cannot be read at render time; the NOTES name the keys it must hold.
*/}}
{{- define "acronis-task-exporter.validateInstance" -}}
{{- $where := ternary (printf "accounts[%s]." .account) "" (ne .account "") }}
{{- if not (or (include "acronis-task-exporter.hasAcronis" .) (include "acronis-task-exporter.hasAstra" .)) }}
{{- if .account }}
{{- fail (printf "%sapi.url (or config.api.url) or %sastra.url is required: the Acronis data-centre URL, the Astra Control URL, or both" $where $where) }}
{{- else }}
{{- fail "config.api.url is required: the data-centre URL, e.g. https://eu2-cloud.acronis.com (or astra.url for Astra Control alone, or demo=true to try the chart)" }}
{{- end }}
{{- end }}
{{- if and (include "acronis-task-exporter.hasAcronis" .) (not .credentials.existingSecret) }}
{{- $needed := get (dict "client_credentials" (list "clientId" "clientSecret") "password" (list "username" "password") "bearer_token" (list "bearerToken")) .credentials.method }}
{{- $missing := list }}
{{- range $needed }}
{{- if not (get $.credentials .) }}
{{- $missing = append $missing (printf "%scredentials.%s" $where .) }}
{{- end }}
{{- end }}
{{- with $missing }}
{{- fail (printf "%s required for credentials.method=%s: set them, or %scredentials.existingSecret (or demo=true)" (join ", " .) $.credentials.method $where) }}
{{- end }}
{{- end }}
{{- if include "acronis-task-exporter.hasAstra" . }}
{{- if not .astra.accountId }}
{{- fail (printf "%sastra.accountId is required with astra.url: the Astra Control account id" $where) }}
{{- end }}
{{- if not (or .astra.existingSecret .astra.token) }}
{{- fail (printf "%sastra.token is required with astra.url: set it, or %sastra.existingSecret" $where $where) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The flags that tell the exporter what to poll and where its credentials are: every secret a
file of a mounted Secret, re-read on each use (never a flag or environment value).
Call with (dict "instance" <instance> "root" $).
*/}}
{{- define "acronis-task-exporter.sourceArgs" -}}
{{- $instance := .instance }}
{{- if .root.Values.demo }}
- --demo
{{- else }}
{{- if include "acronis-task-exporter.hasAcronis" $instance }}
{{- $dir := include "acronis-task-exporter.credentialsDir" . }}
{{- $keys := $instance.credentials.keys }}
{{- if $instance.acronis.flags }}
- --api.url={{ $instance.acronis.url }}
{{- with $instance.acronis.tenantId }}
- --api.tenant-id={{ . }}
{{- end }}
{{- end }}
{{- if eq $instance.credentials.method "client_credentials" }}
- --api.grant-type=client_credentials
- --api.client-id-file={{ $dir }}/{{ $keys.clientId }}
- --api.client-secret-file={{ $dir }}/{{ $keys.clientSecret }}
{{- else if eq $instance.credentials.method "password" }}
- --api.grant-type=password
- --api.username-file={{ $dir }}/{{ $keys.username }}
- --api.password-file={{ $dir }}/{{ $keys.password }}
{{- else }}
- --api.bearer-token-file={{ $dir }}/{{ $keys.bearerToken }}
{{- end }}
{{- end }}
{{- if include "acronis-task-exporter.hasAstra" $instance }}
- --astra.url={{ $instance.astra.url }}
- --astra.account-id={{ $instance.astra.accountId }}
- --astra.token-file={{ include "acronis-task-exporter.astraDir" . }}/{{ $instance.astra.keys.token }}
{{- end }}
{{- end }}
{{- end }}
