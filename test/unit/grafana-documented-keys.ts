// The keys Grafana documents for each kind of provisioning file, taken from the documentation's
// examples and tables (not from Grafana's source), so that a test can check that the files under
// compose/grafana/provisioning use no key Grafana does not document.
//
// Sources:
//   PROVISIONING = https://grafana.com/docs/grafana/latest/administration/provisioning/
//   LOKI_DS      = https://grafana.com/docs/grafana/latest/datasources/loki/ (provisioning examples)
//   ALERTING     = https://grafana.com/docs/grafana/latest/alerting/set-up/provision-alerting-resources/file-provisioning/
//   ALERTING_API = https://grafana.com/docs/grafana/latest/developers/http_api/alerting_provisioning/ (Models)
//
// Query models (groups[].rules[].data[].model) are not listed: ALERTING documents them as opaque
// JSON ("should be obtained through the API"); each data source and expression type has its own.

export const DOCUMENTED_KEYS = {
  // PROVISIONING, "Data sources" > "Example data source configuration file".
  datasourcesFile: ['apiVersion', 'deleteDatasources', 'prune', 'datasources'],
  // PROVISIONING, same example (items of `datasources`).
  datasource: [
    'name',
    'type',
    'access',
    'orgId',
    'uid',
    'url',
    'user',
    'database',
    'basicAuth',
    'basicAuthUser',
    'withCredentials',
    'isDefault',
    'jsonData',
    'secureJsonData',
    'version',
    'editable',
  ],
  // PROVISIONING, "JSON data" table (common settings of the built-in core data sources).
  datasourceJsonData: [
    'tlsAuth',
    'tlsAuthWithCACert',
    'tlsSkipVerify',
    'serverName',
    'timeout',
    'graphiteVersion',
    'timeInterval',
    'httpMode',
    'maxSeries',
    'httpMethod',
    'customQueryParameters',
    'manageAlerts',
    'alertmanagerUid',
    'timeField',
    'interval',
    'logMessageField',
    'logLevelField',
    'maxConcurrentShardRequests',
    'sigV4Auth',
    'sigV4AuthType',
    'sigV4ExternalId',
    'sigV4AssumeRoleArn',
    'sigV4Region',
    'sigV4Profile',
    'authType',
    'externalId',
    'assumeRoleArn',
    'defaultRegion',
    'customMetricsNamespaces',
    'profile',
    'tsdbVersion',
    'tsdbResolution',
    'sslmode',
    'tlsConfigurationMethod',
    'sslRootCertFile',
    'sslCertFile',
    'sslKeyFile',
    'encrypt',
    'postgresVersion',
    'timescaledb',
    'maxOpenConns',
    'maxIdleConns',
    'connMaxLifetime',
    'keepCookies',
    'prometheusVersion',
    'prometheusType',
    'cacheLevel',
    'incrementalQuerying',
    'incrementalQueryOverlapWindow',
    'disableRecordingRules',
    'implementation',
    'handleGrafanaManagedAlerts',
  ],
  // LOKI_DS, "Provision the data source" examples (jsonData of a `type: loki` data source, in
  // addition to datasourceJsonData).
  lokiJsonData: ['maxLines', 'derivedFields'],
  // PROVISIONING, "JSON data" > "Secure JSON data" table.
  datasourceSecureJsonData: [
    'tlsCACert',
    'tlsClientCert',
    'tlsClientKey',
    'password',
    'basicAuthPassword',
    'accessKey',
    'secretKey',
    'sigV4AccessKey',
    'sigV4SecretKey',
  ],

  // PROVISIONING, "Plugins" > example (apps provisioned per organisation).
  pluginsFile: ['apiVersion', 'apps'],

  // PROVISIONING, "Dashboards" > "Example dashboard configuration file".
  dashboardsFile: ['apiVersion', 'providers'],
  dashboardProvider: [
    'name',
    'orgId',
    'folder',
    'folderUid',
    'type',
    'disableDeletion',
    'updateIntervalSeconds',
    'allowUiUpdates',
    'options',
  ],
  dashboardProviderOptions: ['path', 'foldersFromFilesStructure'],

  // ALERTING: the top-level keys of its create/delete/reset example files (one file may hold any
  // of them).
  alertingFile: [
    'apiVersion',
    'groups',
    'deleteRules',
    'contactPoints',
    'deleteContactPoints',
    'templates',
    'deleteTemplates',
    'policies',
    'resetPolicies',
    'muteTimes',
    'deleteMuteTimes',
  ],
  // ALERTING, "Import contact points" example.
  contactPoint: ['orgId', 'name', 'receivers'],
  receiver: ['uid', 'type', 'disableResolveMessage', 'settings'],
  // ALERTING, "Import contact points" > "Settings" > "Discord" example.
  discordSettings: ['url', 'avatar_url', 'use_discord_username', 'message'],
  // ALERTING, "Import notification policies" example; `continue` is named in that example's
  // comments and listed in ALERTING_API's Route model.
  policy: [
    'orgId',
    'receiver',
    'group_by',
    'matchers',
    'object_matchers',
    'mute_time_intervals',
    'group_wait',
    'group_interval',
    'repeat_interval',
    'routes',
    'continue',
  ],
  // ALERTING, "Import alert rules" example.
  ruleGroup: ['orgId', 'name', 'folder', 'interval', 'rules'],
  rule: [
    'uid',
    'title',
    'condition',
    'data',
    'dashboardUid',
    'panelId',
    'noDataState',
    'execErrState',
    'for',
    'annotations',
    'labels',
  ],
  // ALERTING example (refId, datasourceUid, model) and ALERTING_API's AlertQueryExport model
  // (queryType, relativeTimeRange; ALERTING also names groups[].rules[].relativeTimeRange).
  ruleData: ['refId', 'queryType', 'relativeTimeRange', 'datasourceUid', 'model'],
  // ALERTING_API, RelativeTimeRange model: durations in seconds before now.
  relativeTimeRange: ['from', 'to'],
} as const;

// The keys the same pages mark `required`. orgId is never required (default 1). The notification
// policy example marks no key required.
export const REQUIRED_KEYS = {
  // PROVISIONING: <string, required> name, type, access.
  datasource: ['name', 'type', 'access'],
  // PROVISIONING: name "Required"; options.path "Required when using the 'file' type".
  dashboardProvider: ['name'],
  dashboardProviderOptions: ['path'],
  // ALERTING: contact point name; receiver uid, type, settings; Discord url.
  contactPoint: ['name'],
  receiver: ['uid', 'type', 'settings'],
  discordSettings: ['url'],
  policy: [],
  // ALERTING: group name, folder, interval, rules; rule uid, title, condition, data, for.
  ruleGroup: ['name', 'folder', 'interval', 'rules'],
  rule: ['uid', 'title', 'condition', 'data', 'for'],
} as const;
