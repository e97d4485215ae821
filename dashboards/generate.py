#!/usr/bin/env python3
"""Write the logwarden dashboard bundles (the committed NDJSON files are the product).

    python3 dashboards/generate.py

writes dashboards/kibana/logwarden.ndjson (Kibana 8.11 and newer, 9.x included: data views,
Lens, saved searches, dashboards) and dashboards/opensearch-dashboards/logwarden.ndjson
(OpenSearch Dashboards 2.11 and newer: index patterns, legacy visualizations, saved searches,
dashboards). Output is deterministic: the same script writes the same bytes, so a diff of the
NDJSON shows what changed. tests/dashboards.rs checks the files against mappings/*.json.

The link to the logs before an anomaly is a field of the anomaly data view, `discover_logs`: a
runtime field (Kibana) or scripted field (OpenSearch Dashboards) that builds a Discover URL from
`service.name` and the anomaly's window, shown through the URL field format. It opens the
`logwarden-logs` data view (`logs-*` by default: point it at your log indices).
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

KIBANA_CORE = "8.8.0"
KIBANA_PANEL_VERSION = "8.11.0"
# The newest migration of each type in Kibana 8.11 (or an older one: Kibana migrates forward,
# never backward, so a bundle built for 8.11 imports into every later 8.x and 9.x).
KIBANA_TYPE_VERSION = {
    "index-pattern": "8.0.0",
    "search": "7.9.3",
    "lens": "8.9.0",
    "dashboard": "8.7.0",
}
OSD_MIGRATION = {
    "index-pattern": "7.6.0",
    "search": "7.9.3",
    "visualization": "7.10.0",
    "dashboard": "7.9.3",
}
OSD_PANEL_VERSION = "7.10.2"

ANOMALIES = "logwarden-anomalies"
PATTERNS = "logwarden-patterns"
INCIDENTS = "logwarden-incidents"
LOGS = "logwarden-logs"

DATA_VIEWS = [
    (ANOMALIES, "logwarden-anomalies*", "logwarden anomalies"),
    (PATTERNS, "logwarden-patterns*", "logwarden pattern rates"),
    (INCIDENTS, "logwarden-incidents*", "logwarden incidents"),
    (LOGS, "logs-*", "logwarden: logs (point at your log indices)"),
]

KQL_FORECAST = 'anomaly.type : "forecast_breach"'


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- The Discover link --------------------------------------------------------------------

# Painless that builds the Discover URL for the logs of the anomaly's service from 30 minutes
# before the anomaly's window to its end. The service name is escaped for a KQL phrase, then for
# a rison string, then percent-encoded where a URL fragment needs it.
LINK_CONDITION = (
    "doc.containsKey('service.name') && doc['service.name'].size() > 0"
    " && doc['@timestamp'].size() > 0"
)
LINK_BODY = r"""
long start = doc['@timestamp'].value.toInstant().toEpochMilli() - 1800000L;
long end = start + 1800000L + 60000L;
if (doc.containsKey('anomaly.window.end') && doc['anomaly.window.end'].size() > 0) { end = doc['anomaly.window.end'].value.toInstant().toEpochMilli(); }
String svc = doc['service.name'].value;
svc = svc.replace('\\', '\\\\').replace('"', '\\"');
svc = svc.replace('!', '!!').replace("'", "!'");
svc = svc.replace('%', '%25').replace(' ', '%20').replace('"', '%22').replace('#', '%23').replace('&', '%26').replace('+', '%2B').replace('\\', '%5C');
String from = Instant.ofEpochMilli(start).toString();
String to = Instant.ofEpochMilli(end).toString();
"""

KIBANA_LINK = (
    "'/app/discover#/?_g=(time:(from:\\'' + from + '\\',to:\\'' + to + '\\'))"
    "&_a=(index:\\'" + LOGS + "\\',query:(language:kuery,query:\\'service.name:%22' + svc + '%22\\'))'"
)
OSD_LINK = (
    "'/app/data-explorer/discover#?_a=(discover:(columns:!(_source),sort:!()),"
    "metadata:(indexPattern:\\'" + LOGS + "\\',view:discover))"
    "&_g=(filters:!(),time:(from:\\'' + from + '\\',to:\\'' + to + '\\'))"
    "&_q=(filters:!(),query:(language:kuery,query:\\'service.name:%22' + svc + '%22\\'))'"
)


def link_script(flavor):
    body = LINK_BODY.strip().replace("\n", " ")
    if flavor == "kibana":
        # A runtime field emits its value (nothing for an anomaly without a service).
        return "if (" + LINK_CONDITION + ") { " + body + " emit(" + KIBANA_LINK + "); }"
    return "if (" + LINK_CONDITION + ") { " + body + " return " + OSD_LINK + "; } return null;"


LINK_FORMAT = {
    "id": "url",
    "params": {
        "type": "a",
        "urlTemplate": "{{rawValue}}",
        "labelTemplate": "logs of the 30 minutes before",
        "openLinkInNewTab": True,
    },
}

# incident.id opens the incident's anomalies in Discover.
KIBANA_INCIDENT_FORMAT = {
    "id": "url",
    "params": {
        "type": "a",
        "urlTemplate": "/app/discover#/?_g=(time:(from:now-30d,to:now))&_a=(index:'"
        + ANOMALIES
        + "',query:(language:kuery,query:'incident.id:%22{{value}}%22'))",
        "labelTemplate": "{{value}}",
        "openLinkInNewTab": True,
    },
}
OSD_INCIDENT_FORMAT = {
    "id": "url",
    "params": {
        "type": "a",
        "urlTemplate": "/app/data-explorer/discover#?_a=(discover:(columns:!(_source),sort:!()),"
        "metadata:(indexPattern:'"
        + ANOMALIES
        + "',view:discover))&_g=(filters:!(),time:(from:now-30d,to:now))"
        "&_q=(filters:!(),query:(language:kuery,query:'incident.id:%22{{value}}%22'))",
        "labelTemplate": "{{value}}",
        "openLinkInNewTab": True,
    },
}


# --- Kibana -------------------------------------------------------------------------------


def kibana_object(kind, oid, attributes, references):
    return {
        "attributes": attributes,
        "coreMigrationVersion": KIBANA_CORE,
        "id": oid,
        "managed": False,
        "references": references,
        "type": kind,
        "typeMigrationVersion": KIBANA_TYPE_VERSION[kind],
    }


def kibana_data_view(oid, title, name):
    runtime = {}
    formats = {}
    if oid == ANOMALIES:
        runtime["discover_logs"] = {
            "type": "keyword",
            "script": {"source": link_script("kibana")},
        }
        formats["discover_logs"] = LINK_FORMAT
    if oid == INCIDENTS:
        formats["incident.id"] = KIBANA_INCIDENT_FORMAT
    return kibana_object(
        "index-pattern",
        oid,
        {
            "allowNoIndex": True,
            "fieldAttrs": "{}",
            "fieldFormatMap": compact(formats),
            "fields": "[]",
            "name": name,
            "runtimeFieldMap": compact(runtime),
            "sourceFilters": "[]",
            "timeFieldName": "@timestamp",
            "title": title,
            "typeMeta": "{}",
        },
        [],
    )


def date_col(label="@timestamp"):
    return {
        "label": label,
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": "@timestamp",
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def count_col(label):
    return {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": "count",
        "sourceField": "___records___",
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def metric_col(op, field, label):
    return {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": op,
        "sourceField": field,
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def terms_col(field, label, size, order_by):
    return {
        "label": label,
        "customLabel": True,
        "dataType": "string",
        "operationType": "terms",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": order_by},
            "orderDirection": "desc",
            "otherBucket": True,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
            "include": [],
            "exclude": [],
            "includeIsRegex": False,
            "excludeIsRegex": False,
        },
    }


def lens(oid, title, description, data_view, vis_type, columns, order, visualization, query=""):
    layer = "layer1"
    state = {
        "adHocDataViews": {},
        "datasourceStates": {
            "formBased": {
                "layers": {
                    layer: {
                        "columnOrder": order,
                        "columns": columns,
                        "incompleteColumns": {},
                        "sampling": 1,
                    }
                }
            }
        },
        "filters": [],
        "internalReferences": [],
        "query": {"language": "kuery", "query": query},
        "visualization": dict(visualization, layerId=layer) if vis_type != "lnsXY" else visualization,
    }
    return kibana_object(
        "lens",
        oid,
        {
            "description": description,
            "state": state,
            "title": title,
            "visualizationType": vis_type,
        },
        [
            {
                "id": data_view,
                "name": "indexpattern-datasource-layer-" + layer,
                "type": "index-pattern",
            }
        ],
    )


def xy(series, x, accessors, split=None, y_title=None):
    layer = {
        "layerId": "layer1",
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": accessors,
    }
    if split:
        layer["splitAccessor"] = split
    vis = {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "preferredSeriesType": series,
        "axisTitlesVisibilitySettings": {"x": False, "yLeft": True, "yRight": True},
        "layers": [layer],
    }
    if y_title:
        vis["yTitle"] = y_title
    return vis


def stacked_by(oid, field, label, what):
    return lens(
        oid,
        "logwarden: anomalies over time by " + what,
        "Anomaly documents per time bucket, stacked by " + field + ".",
        ANOMALIES,
        "lnsXY",
        {
            "x": date_col(),
            "split": terms_col(field, label, 10, "count"),
            "count": count_col("Anomalies"),
        },
        ["split", "x", "count"],
        xy("bar_stacked", "x", ["count"], split="split", y_title="Anomalies"),
    )


def datatable(columns, sort_column):
    return {
        "layerType": "data",
        "columns": [{"columnId": c} for c in columns],
        "sorting": {"columnId": sort_column, "direction": "desc"},
    }


def kibana_search(oid, title, description, data_view, columns, query="", sort=None):
    source = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return kibana_object(
        "search",
        oid,
        {
            "columns": columns,
            "description": description,
            "kibanaSavedObjectMeta": {"searchSourceJSON": compact(source)},
            "sort": sort or [["@timestamp", "desc"]],
            "title": title,
        },
        [
            {
                "id": data_view,
                "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                "type": "index-pattern",
            }
        ],
    )


def kibana_dashboard(oid, title, description, panels, controls):
    """panels: (panel id, type, object id, x, y, w, h, title); controls: (id, field, title, view)."""
    refs = []
    panels_json = []
    for pid, kind, obj, x, y, w, h, ptitle in panels:
        panels_json.append(
            {
                "version": KIBANA_PANEL_VERSION,
                "type": kind,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
                "panelIndex": pid,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": "panel_" + pid,
                "title": ptitle,
            }
        )
        refs.append({"id": obj, "name": pid + ":panel_" + pid, "type": kind})
    control_panels = {}
    for order, (cid, field, ctitle, view) in enumerate(controls):
        control_panels[cid] = {
            "order": order,
            "width": "medium",
            "grow": True,
            "type": "optionsListControl",
            "explicitInput": {
                "id": cid,
                "fieldName": field,
                "title": ctitle,
                "selectedOptions": [],
                "enhancements": {},
            },
        }
        refs.append(
            {
                "id": view,
                "name": "controlGroup_" + cid + ":optionsListDataView",
                "type": "index-pattern",
            }
        )
    attributes = {
        "controlGroupInput": {
            "chainingSystem": "HIERARCHICAL",
            "controlStyle": "oneLine",
            "ignoreParentSettingsJSON": compact(
                {
                    "ignoreFilters": False,
                    "ignoreQuery": False,
                    "ignoreTimerange": False,
                    "ignoreValidations": False,
                }
            ),
            "panelsJSON": compact(control_panels),
        },
        "description": description,
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": compact({"query": {"query": "", "language": "kuery"}, "filter": []})
        },
        "optionsJSON": compact(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            }
        ),
        "panelsJSON": compact(panels_json),
        "refreshInterval": {"pause": False, "value": 60000},
        "timeFrom": "now-24h",
        "timeRestore": True,
        "timeTo": "now",
        "title": title,
        "version": 1,
    }
    return kibana_object("dashboard", oid, attributes, refs)


# What the panels show, shared by both flavours.
LATEST_COLUMNS = [
    "anomaly.severity",
    "anomaly.type",
    "service.name",
    "anomaly.score",
    "anomaly.explanation",
    "anomaly.observed",
    "anomaly.expected",
    "anomaly.unit",
    "pattern.examples",
    "discover_logs",
]
FORECAST_COLUMNS = [
    "service.name",
    "forecast.breach_at",
    "forecast.hours_to_breach",
    "forecast.threshold",
    "forecast.level",
    "forecast.trend_per_hour",
    "pattern.template",
    "anomaly.explanation",
]
INCIDENT_COLUMNS = [
    "incident.severity",
    "incident.title",
    "incident.score",
    "incident.services",
    "incident.types",
    "incident.anomaly_count",
    "incident.start",
    "incident.end",
    "incident.id",
]

OVERVIEW = "logwarden-overview"
INCIDENTS_DASH = "logwarden-incidents-dashboard"
RATES_DASH = "logwarden-pattern-rates"

OVERVIEW_TEXT = (
    "What logwarden found: anomalies by severity, type and service, the patterns with the "
    "highest scores, the latest anomalies with a link to the logs before them, and predicted "
    "SLO breaches. See also 'logwarden: incidents' and 'logwarden: pattern rates'."
)
INCIDENTS_TEXT = "Related anomalies grouped into incidents across services and time."
RATES_TEXT = "Observed log lines per pattern against what logwarden expects for that hour of the week."


def kibana_objects():
    objs = [kibana_data_view(oid, title, name) for oid, title, name in DATA_VIEWS]
    objs += [
        stacked_by("logwarden-anomalies-by-severity", "anomaly.severity", "Severity", "severity"),
        stacked_by("logwarden-anomalies-by-type", "anomaly.type", "Type", "type"),
        stacked_by("logwarden-anomalies-by-service", "service.name", "Service", "service"),
        lens(
            "logwarden-top-patterns",
            "logwarden: top patterns by anomaly score",
            "The log patterns with the highest anomaly score in the time range.",
            ANOMALIES,
            "lnsDatatable",
            {
                "template": terms_col("pattern.template", "Pattern", 20, "score"),
                "service": terms_col("service.name", "Service", 3, "score"),
                "score": metric_col("max", "anomaly.score", "Highest score"),
                "count": count_col("Anomalies"),
            },
            ["template", "service", "score", "count"],
            datatable(["template", "service", "score", "count"], "score"),
        ),
        lens(
            "logwarden-soonest-breach",
            "logwarden: soonest predicted breach (hours)",
            "The fewest hours until a forecast_breach anomaly's trend crosses its threshold.",
            ANOMALIES,
            "lnsMetric",
            {"hours": metric_col("min", "forecast.hours_to_breach", "Hours to the soonest breach")},
            ["hours"],
            {"layerType": "data", "metricAccessor": "hours"},
            query=KQL_FORECAST,
        ),
        kibana_search(
            "logwarden-latest-anomalies",
            "logwarden: latest anomalies",
            "Newest first: explanation, observed vs expected, example lines, and a link to the "
            "service's logs of the 30 minutes before the anomaly (discover_logs).",
            ANOMALIES,
            LATEST_COLUMNS,
        ),
        kibana_search(
            "logwarden-predicted-breaches",
            "logwarden: what is predicted",
            "forecast_breach anomalies: when the trend crosses its threshold (forecast.breach_at) "
            "and in how many hours.",
            ANOMALIES,
            FORECAST_COLUMNS,
            query=KQL_FORECAST,
            sort=[["forecast.breach_at", "asc"]],
        ),
        kibana_search(
            "logwarden-incident-list",
            "logwarden: incidents",
            "Incidents, newest first; incident.id opens the incident's anomalies in Discover.",
            INCIDENTS,
            INCIDENT_COLUMNS,
        ),
        lens(
            "logwarden-incidents-over-time",
            "logwarden: incidents over time by severity",
            "Incident documents per time bucket, stacked by incident.severity.",
            INCIDENTS,
            "lnsXY",
            {
                "x": date_col(),
                "split": terms_col("incident.severity", "Severity", 5, "count"),
                "count": count_col("Incidents"),
            },
            ["split", "x", "count"],
            xy("bar_stacked", "x", ["count"], split="split", y_title="Incidents"),
        ),
        lens(
            "logwarden-pattern-rate",
            "logwarden: pattern rate, observed vs expected",
            "Log lines per bucket (sum of rate.count) against the baseline's expectation (sum "
            "of rate.expected). Filter by service and pattern with the controls.",
            PATTERNS,
            "lnsXY",
            {
                "x": date_col(),
                "observed": metric_col("sum", "rate.count", "Observed (rate.count)"),
                "expected": metric_col("sum", "rate.expected", "Expected (rate.expected)"),
            },
            ["x", "observed", "expected"],
            xy("line", "x", ["observed", "expected"], y_title="Log lines"),
        ),
        lens(
            "logwarden-pattern-rate-table",
            "logwarden: busiest patterns",
            "Patterns by observed lines, with what was expected and how many were errors.",
            PATTERNS,
            "lnsDatatable",
            {
                "template": terms_col("pattern.template", "Pattern", 20, "observed"),
                "observed": metric_col("sum", "rate.count", "Observed"),
                "expected": metric_col("sum", "rate.expected", "Expected"),
                "errors": metric_col("sum", "rate.errors", "Errors"),
            },
            ["template", "observed", "expected", "errors"],
            datatable(["template", "observed", "expected", "errors"], "observed"),
        ),
    ]
    objs.append(
        kibana_dashboard(
            OVERVIEW,
            "logwarden: overview",
            OVERVIEW_TEXT,
            [
                ("severity", "lens", "logwarden-anomalies-by-severity", 0, 0, 16, 12, "Anomalies by severity"),
                ("type", "lens", "logwarden-anomalies-by-type", 16, 0, 16, 12, "Anomalies by type"),
                ("service", "lens", "logwarden-anomalies-by-service", 32, 0, 16, 12, "Anomalies by service"),
                ("patterns", "lens", "logwarden-top-patterns", 0, 12, 32, 14, "Top patterns by anomaly score"),
                ("breach", "lens", "logwarden-soonest-breach", 32, 12, 16, 14, "Soonest predicted breach (hours)"),
                ("latest", "search", "logwarden-latest-anomalies", 0, 26, 48, 18, "Latest anomalies"),
                ("predicted", "search", "logwarden-predicted-breaches", 0, 44, 48, 12, "What is predicted"),
            ],
            [
                ("service", "service.name", "Service", ANOMALIES),
                ("severity", "anomaly.severity", "Severity", ANOMALIES),
                ("type", "anomaly.type", "Type", ANOMALIES),
            ],
        )
    )
    objs.append(
        kibana_dashboard(
            INCIDENTS_DASH,
            "logwarden: incidents",
            INCIDENTS_TEXT,
            [
                ("over-time", "lens", "logwarden-incidents-over-time", 0, 0, 48, 12, "Incidents by severity"),
                ("list", "search", "logwarden-incident-list", 0, 12, 48, 20, "Incidents"),
            ],
            [
                ("services", "incident.services", "Service", INCIDENTS),
                ("severity", "incident.severity", "Severity", INCIDENTS),
                ("types", "incident.types", "Type", INCIDENTS),
            ],
        )
    )
    objs.append(
        kibana_dashboard(
            RATES_DASH,
            "logwarden: pattern rates",
            RATES_TEXT,
            [
                ("rate", "lens", "logwarden-pattern-rate", 0, 0, 48, 15, "Observed vs expected"),
                ("busiest", "lens", "logwarden-pattern-rate-table", 0, 15, 48, 15, "Busiest patterns"),
            ],
            [
                ("service", "service.name", "Service", PATTERNS),
                ("pattern", "pattern.template", "Pattern", PATTERNS),
            ],
        )
    )
    return objs


# --- OpenSearch Dashboards ----------------------------------------------------------------


def osd_object(kind, oid, attributes, references):
    return {
        "attributes": attributes,
        "id": oid,
        "migrationVersion": {kind: OSD_MIGRATION[kind]},
        "references": references,
        "type": kind,
    }


def osd_index_pattern(oid, title, _name):
    fields = []
    formats = {}
    if oid == ANOMALIES:
        # Without `aggregatable`/`readFromDocValues` the field list counts as unfetched, so
        # OpenSearch Dashboards reads the mapping's fields on first use and keeps this one.
        fields.append(
            {
                "name": "discover_logs",
                "type": "string",
                "count": 0,
                "scripted": True,
                "script": link_script("osd"),
                "lang": "painless",
            }
        )
        formats["discover_logs"] = LINK_FORMAT
    if oid == INCIDENTS:
        formats["incident.id"] = OSD_INCIDENT_FORMAT
    return osd_object(
        "index-pattern",
        oid,
        {
            "fieldFormatMap": compact(formats),
            "fields": compact(fields),
            "timeFieldName": "@timestamp",
            "title": title,
        },
        [],
    )


def index_ref(view):
    return [
        {
            "id": view,
            "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
            "type": "index-pattern",
        }
    ]


def osd_vis(oid, title, description, view, vis_state, query=""):
    vis_state = dict(vis_state, title=title)
    source = {"query": {"query": query, "language": "kuery"}, "filter": []}
    refs = []
    if view is not None:
        source["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
        refs = index_ref(view)
    return osd_object(
        "visualization",
        oid,
        {
            "description": description,
            "kibanaSavedObjectMeta": {"searchSourceJSON": compact(source)},
            "title": title,
            "uiStateJSON": "{}",
            "version": 1,
            "visState": compact(vis_state),
        },
        refs,
    )


def agg_count(aid="1"):
    return {"id": aid, "enabled": True, "type": "count", "params": {}, "schema": "metric"}


def agg_metric(aid, kind, field, label):
    return {
        "id": aid,
        "enabled": True,
        "type": kind,
        "params": {"field": field, "customLabel": label},
        "schema": "metric",
    }


def agg_date(aid, schema="segment"):
    return {
        "id": aid,
        "enabled": True,
        "type": "date_histogram",
        "params": {
            "field": "@timestamp",
            "useNormalizedOpenSearchInterval": True,
            "interval": "auto",
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
        "schema": schema,
    }


def agg_terms(aid, field, label, size, order_by, schema):
    return {
        "id": aid,
        "enabled": True,
        "type": "terms",
        "params": {
            "field": field,
            "orderBy": order_by,
            "order": "desc",
            "size": size,
            "otherBucket": False,
            "missingBucket": False,
            "customLabel": label,
        },
        "schema": schema,
    }


def xy_params(kind, mode, series, y_title):
    return {
        "type": kind,
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "style": {},
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": y_title},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": kind,
                "mode": mode,
                "data": {"label": label, "id": aid},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "showCircles": True,
            }
            for aid, label in series
        ],
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
    }


def osd_stacked_by(oid, field, label, what, view=ANOMALIES, noun="Anomalies"):
    return osd_vis(
        oid,
        "logwarden: " + noun.lower() + " over time by " + what,
        noun + " per time bucket, stacked by " + field + ".",
        view,
        {
            "type": "histogram",
            "aggs": [
                agg_count(),
                agg_date("2"),
                agg_terms("3", field, label, 10, "1", "group"),
            ],
            "params": xy_params("histogram", "stacked", [("1", noun)], noun),
        },
    )


TABLE_PARAMS = {
    "perPage": 20,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "sort": {"columnIndex": None, "direction": None},
    "showTotal": False,
    "totalFunc": "sum",
    "percentageCol": "",
}


def osd_control(oid, title, view, controls):
    return osd_object(
        "visualization",
        oid,
        {
            "description": "Filters for the dashboard.",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": compact({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
            "title": title,
            "uiStateJSON": "{}",
            "version": 1,
            "visState": compact(
                {
                    "title": title,
                    "type": "input_control_vis",
                    "aggs": [],
                    "params": {
                        "controls": [
                            {
                                "id": str(i + 1),
                                "fieldName": field,
                                "label": label,
                                "parent": "",
                                "type": "list",
                                "options": {
                                    "type": "terms",
                                    "multiselect": True,
                                    "dynamicOptions": True,
                                    "size": 50,
                                    "order": "desc",
                                },
                                "indexPatternRefName": "control_%d_index_pattern" % i,
                            }
                            for i, (field, label) in enumerate(controls)
                        ],
                        "updateFiltersOnChange": True,
                        "useTimeFilter": True,
                        "pinFilters": False,
                    },
                }
            ),
        },
        [
            {"id": view, "name": "control_%d_index_pattern" % i, "type": "index-pattern"}
            for i in range(len(controls))
        ],
    )


def osd_search(oid, title, description, view, columns, query="", sort=None):
    source = {
        "highlightAll": True,
        "version": True,
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return osd_object(
        "search",
        oid,
        {
            "columns": columns,
            "description": description,
            "hits": 0,
            "kibanaSavedObjectMeta": {"searchSourceJSON": compact(source)},
            "sort": sort or [["@timestamp", "desc"]],
            "title": title,
            "version": 1,
        },
        index_ref(view),
    )


def osd_dashboard(oid, title, description, panels):
    refs = []
    panels_json = []
    for n, (pid, kind, obj, x, y, w, h, ptitle) in enumerate(panels):
        panels_json.append(
            {
                "version": OSD_PANEL_VERSION,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
                "panelIndex": pid,
                "embeddableConfig": {},
                "panelRefName": "panel_%d" % n,
                "title": ptitle,
            }
        )
        refs.append({"id": obj, "name": "panel_%d" % n, "type": kind})
    return osd_object(
        "dashboard",
        oid,
        {
            "description": description,
            "hits": 0,
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": compact({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
            "optionsJSON": compact({"hidePanelTitles": False, "useMargins": True}),
            "panelsJSON": compact(panels_json),
            "refreshInterval": {"pause": False, "value": 60000},
            "timeFrom": "now-24h",
            "timeRestore": True,
            "timeTo": "now",
            "title": title,
            "version": 1,
        },
        refs,
    )


def osd_objects():
    objs = [osd_index_pattern(oid, title, name) for oid, title, name in DATA_VIEWS]
    objs += [
        osd_control(
            "logwarden-overview-controls",
            "logwarden: anomaly filters",
            ANOMALIES,
            [("service.name", "Service"), ("anomaly.severity", "Severity"), ("anomaly.type", "Type")],
        ),
        osd_stacked_by("logwarden-anomalies-by-severity", "anomaly.severity", "Severity", "severity"),
        osd_stacked_by("logwarden-anomalies-by-type", "anomaly.type", "Type", "type"),
        osd_stacked_by("logwarden-anomalies-by-service", "service.name", "Service", "service"),
        osd_vis(
            "logwarden-top-patterns",
            "logwarden: top patterns by anomaly score",
            "The log patterns with the highest anomaly score in the time range.",
            ANOMALIES,
            {
                "type": "table",
                "aggs": [
                    agg_metric("1", "max", "anomaly.score", "Highest score"),
                    agg_count("2"),
                    agg_terms("3", "pattern.template", "Pattern", 20, "1", "bucket"),
                    agg_terms("4", "service.name", "Service", 3, "1", "bucket"),
                ],
                "params": TABLE_PARAMS,
            },
        ),
        osd_vis(
            "logwarden-soonest-breach",
            "logwarden: soonest predicted breach (hours)",
            "The fewest hours until a forecast_breach anomaly's trend crosses its threshold.",
            ANOMALIES,
            {
                "type": "metric",
                "aggs": [agg_metric("1", "min", "forecast.hours_to_breach", "Hours to the soonest breach")],
                "params": {
                    "addTooltip": True,
                    "addLegend": False,
                    "type": "metric",
                    "metric": {
                        "percentageMode": False,
                        "useRanges": False,
                        "colorSchema": "Green to Red",
                        "metricColorMode": "None",
                        "colorsRange": [{"from": 0, "to": 10000}],
                        "labels": {"show": True},
                        "invertColors": False,
                        "style": {
                            "bgFill": "#000",
                            "bgColor": False,
                            "labelColor": False,
                            "subText": "",
                            "fontSize": 60,
                        },
                    },
                },
            },
            query=KQL_FORECAST,
        ),
        osd_search(
            "logwarden-latest-anomalies",
            "logwarden: latest anomalies",
            "Newest first: explanation, observed vs expected, example lines, and a link to the "
            "service's logs of the 30 minutes before the anomaly (discover_logs).",
            ANOMALIES,
            LATEST_COLUMNS,
        ),
        osd_search(
            "logwarden-predicted-breaches",
            "logwarden: what is predicted",
            "forecast_breach anomalies: when the trend crosses its threshold (forecast.breach_at) "
            "and in how many hours.",
            ANOMALIES,
            FORECAST_COLUMNS,
            query=KQL_FORECAST,
            sort=[["forecast.breach_at", "asc"]],
        ),
        osd_control(
            "logwarden-incident-controls",
            "logwarden: incident filters",
            INCIDENTS,
            [("incident.services", "Service"), ("incident.severity", "Severity"), ("incident.types", "Type")],
        ),
        osd_stacked_by(
            "logwarden-incidents-over-time",
            "incident.severity",
            "Severity",
            "severity",
            view=INCIDENTS,
            noun="Incidents",
        ),
        osd_search(
            "logwarden-incident-list",
            "logwarden: incidents",
            "Incidents, newest first; incident.id opens the incident's anomalies in Discover.",
            INCIDENTS,
            INCIDENT_COLUMNS,
        ),
        osd_control(
            "logwarden-pattern-rate-controls",
            "logwarden: pattern filters",
            PATTERNS,
            [("service.name", "Service"), ("pattern.template", "Pattern")],
        ),
        osd_vis(
            "logwarden-pattern-rate",
            "logwarden: pattern rate, observed vs expected",
            "Log lines per bucket (sum of rate.count) against the baseline's expectation (sum of "
            "rate.expected). Filter by service and pattern with the controls.",
            PATTERNS,
            {
                "type": "line",
                "aggs": [
                    agg_metric("1", "sum", "rate.count", "Observed (rate.count)"),
                    agg_metric("2", "sum", "rate.expected", "Expected (rate.expected)"),
                    agg_date("3"),
                ],
                "params": xy_params(
                    "line",
                    "normal",
                    [("1", "Observed (rate.count)"), ("2", "Expected (rate.expected)")],
                    "Log lines",
                ),
            },
        ),
        osd_vis(
            "logwarden-pattern-rate-table",
            "logwarden: busiest patterns",
            "Patterns by observed lines, with what was expected and how many were errors.",
            PATTERNS,
            {
                "type": "table",
                "aggs": [
                    agg_metric("1", "sum", "rate.count", "Observed"),
                    agg_metric("2", "sum", "rate.expected", "Expected"),
                    agg_metric("3", "sum", "rate.errors", "Errors"),
                    agg_terms("4", "pattern.template", "Pattern", 20, "1", "bucket"),
                ],
                "params": TABLE_PARAMS,
            },
        ),
    ]
    objs.append(
        osd_dashboard(
            OVERVIEW,
            "logwarden: overview",
            OVERVIEW_TEXT,
            [
                ("controls", "visualization", "logwarden-overview-controls", 0, 0, 48, 5, "Filters"),
                ("severity", "visualization", "logwarden-anomalies-by-severity", 0, 5, 16, 12, "Anomalies by severity"),
                ("type", "visualization", "logwarden-anomalies-by-type", 16, 5, 16, 12, "Anomalies by type"),
                ("service", "visualization", "logwarden-anomalies-by-service", 32, 5, 16, 12, "Anomalies by service"),
                ("patterns", "visualization", "logwarden-top-patterns", 0, 17, 32, 14, "Top patterns by anomaly score"),
                ("breach", "visualization", "logwarden-soonest-breach", 32, 17, 16, 14, "Soonest predicted breach (hours)"),
                ("latest", "search", "logwarden-latest-anomalies", 0, 31, 48, 18, "Latest anomalies"),
                ("predicted", "search", "logwarden-predicted-breaches", 0, 49, 48, 12, "What is predicted"),
            ],
        )
    )
    objs.append(
        osd_dashboard(
            INCIDENTS_DASH,
            "logwarden: incidents",
            INCIDENTS_TEXT,
            [
                ("controls", "visualization", "logwarden-incident-controls", 0, 0, 48, 5, "Filters"),
                ("over-time", "visualization", "logwarden-incidents-over-time", 0, 5, 48, 12, "Incidents by severity"),
                ("list", "search", "logwarden-incident-list", 0, 17, 48, 20, "Incidents"),
            ],
        )
    )
    objs.append(
        osd_dashboard(
            RATES_DASH,
            "logwarden: pattern rates",
            RATES_TEXT,
            [
                ("controls", "visualization", "logwarden-pattern-rate-controls", 0, 0, 48, 5, "Filters"),
                ("rate", "visualization", "logwarden-pattern-rate", 0, 5, 48, 15, "Observed vs expected"),
                ("busiest", "visualization", "logwarden-pattern-rate-table", 0, 20, 48, 15, "Busiest patterns"),
            ],
        )
    )
    return objs


def write(path, objects):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for obj in objects:
            f.write(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
            f.write("\n")


if __name__ == "__main__":
    write(os.path.join(HERE, "kibana", "logwarden.ndjson"), kibana_objects())
    write(os.path.join(HERE, "opensearch-dashboards", "logwarden.ndjson"), osd_objects())
