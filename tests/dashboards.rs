//! The dashboard bundles checked by structure, as Kibana and OpenSearch Dashboards would read
//! them: every line a saved object with type, id, attributes and references; ids unique; every
//! reference resolving inside the bundle; every JSON-in-a-string attribute parsing; every field
//! a panel, search, Lens column, control or query uses existing in the mapping of its data view
//! (mappings/*.json) with a type the operation can use. The checker is run on deliberately
//! broken copies too, so a broken bundle cannot pass.

use logwarden::dashboards::{Flavor, KIBANA_BUNDLE, OPENSEARCH_DASHBOARDS_BUNDLE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The newest Kibana the bundle is built for: no object may claim a later migration.
const KIBANA_OLDEST: (u32, u32, u32) = (8, 11, 0);

/// Field name → mapping type, flattened (`anomaly.window.start` → `date`), multi-fields
/// included (`pattern.template.text`).
fn flatten(mapping: &str) -> HashMap<String, String> {
    fn walk(props: &Value, prefix: &str, out: &mut HashMap<String, String>) {
        let Some(props) = props.as_object() else {
            return;
        };
        for (name, def) in props {
            let path = format!("{prefix}{name}");
            if let Some(t) = def.get("type").and_then(Value::as_str) {
                out.insert(path.clone(), t.to_string());
            }
            if let Some(inner) = def.get("properties") {
                walk(inner, &format!("{path}."), out);
            }
            if let Some(multi) = def.get("fields") {
                walk(multi, &format!("{path}."), out);
            }
        }
    }
    let v: Value = serde_json::from_str(mapping).unwrap();
    let mut out = HashMap::new();
    walk(&v["properties"], "", &mut out);
    out
}

/// The mapping behind a data view title; `None` for data views on indices logwarden does not
/// write (the user's logs).
fn mapping_for_title(title: &str) -> Option<HashMap<String, String>> {
    match title {
        "logwarden-anomalies*" => Some(flatten(include_str!("../mappings/anomalies.json"))),
        "logwarden-patterns*" => Some(flatten(include_str!("../mappings/patterns.json"))),
        "logwarden-incidents*" => Some(flatten(include_str!("../mappings/incidents.json"))),
        _ => None,
    }
}

const NUMERIC: &[&str] = &[
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
];

/// The field types an aggregation can run on.
fn usable(op: &str, field_type: &str) -> bool {
    match op {
        "terms" | "significant_terms" => field_type == "keyword" || NUMERIC.contains(&field_type),
        "date_histogram" => field_type == "date",
        "sum" | "avg" | "median" | "percentile" | "standard_deviation" => {
            NUMERIC.contains(&field_type)
        }
        "min" | "max" | "last_value" => NUMERIC.contains(&field_type) || field_type == "date",
        "cardinality" | "unique_count" | "count" => field_type != "text",
        _ => false,
    }
}

/// Field names in a KQL query: every word followed by `:`, quoted strings skipped.
fn kql_fields(query: &str) -> Vec<String> {
    let chars: Vec<char> = query.chars().collect();
    let mut fields = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_alphanumeric() || "_.@".contains(c) {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.@".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j < chars.len() && chars[j] == ':' {
                fields.push(word);
            }
        } else {
            i += 1;
        }
    }
    fields
}

/// Field names a Painless script reads (`doc['x']`, `doc.containsKey('x')`).
fn painless_fields(script: &str) -> BTreeSet<String> {
    ["doc['", "doc.containsKey('"]
        .iter()
        .flat_map(|opening| script.split(opening).skip(1))
        .filter_map(|rest| rest.split('\'').next())
        .map(str::to_string)
        .collect()
}

fn version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// A string attribute that holds JSON, parsed.
fn json_string(v: &Value, what: &str, problems: &mut Vec<String>) -> Option<Value> {
    match v.as_str() {
        Some(s) => match serde_json::from_str(s) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                problems.push(format!("{what}: not valid JSON: {e}"));
                None
            }
        },
        None => {
            problems.push(format!("{what}: must be a JSON string"));
            None
        }
    }
}

struct DataView {
    title: String,
    /// Fields the data view adds: runtime fields (Kibana) and scripted fields (OSD).
    extra: BTreeSet<String>,
    mapping: Option<HashMap<String, String>>,
}

struct Checker {
    flavor: Flavor,
    objects: Vec<Value>,
    views: HashMap<String, DataView>,
    problems: Vec<String>,
    /// Every (object id, field) use found, for the content tests.
    uses: Vec<(String, String)>,
}

impl Checker {
    fn problem(&mut self, msg: String) {
        self.problems.push(msg);
    }

    fn reference(&self, obj: &Value, name: &str) -> Option<(String, String)> {
        obj["references"].as_array()?.iter().find_map(|r| {
            (r["name"].as_str() == Some(name)).then(|| {
                (
                    r["type"].as_str().unwrap_or("").to_string(),
                    r["id"].as_str().unwrap_or("").to_string(),
                )
            })
        })
    }

    /// Check that `field` exists in data view `view` (and suits `op`, when given).
    fn field(&mut self, owner: &str, view: &str, field: &str, op: Option<&str>) {
        self.uses.push((owner.to_string(), field.to_string()));
        let Some(dv) = self.views.get(view) else {
            self.problems
                .push(format!("{owner}: data view `{view}` is not in the bundle"));
            return;
        };
        let Some(mapping) = &dv.mapping else {
            let title = dv.title.clone();
            self.problems.push(format!(
                "{owner}: uses `{field}` of data view `{view}` ({title}), whose fields logwarden does not know"
            ));
            return;
        };
        if dv.extra.contains(field) {
            if op.is_some_and(|o| o != "count") {
                self.problems.push(format!(
                    "{owner}: aggregates on the scripted/runtime field `{field}`"
                ));
            }
            return;
        }
        match mapping.get(field) {
            None => {
                let title = dv.title.clone();
                self.problems.push(format!(
                    "{owner}: field `{field}` is not in the mapping of {title}"
                ));
            }
            Some(t) => {
                if let Some(op) = op {
                    if !usable(op, t) {
                        let t = t.clone();
                        self.problems.push(format!(
                            "{owner}: `{op}` cannot run on `{field}` (a {t} field)"
                        ));
                    }
                }
            }
        }
    }

    fn query(&mut self, owner: &str, view: &str, query: &Value) {
        if let Some(q) = query.get("query").and_then(Value::as_str) {
            for f in kql_fields(q) {
                self.field(owner, view, &f, None);
            }
        }
    }

    fn run(mut self) -> Self {
        self.collect_views();
        let objects = self.objects.clone();
        for obj in &objects {
            let owner = format!(
                "{} {}",
                obj["type"].as_str().unwrap_or("?"),
                obj["id"].as_str().unwrap_or("?")
            );
            self.check_format(obj, &owner);
            self.check_json_strings(&obj["attributes"], &owner, "attributes");
            match obj["type"].as_str().unwrap_or("") {
                "index-pattern" => self.check_view(obj, &owner),
                "lens" => self.check_lens(obj, &owner),
                "search" => self.check_search(obj, &owner),
                "visualization" => self.check_vis(obj, &owner),
                "dashboard" => self.check_dashboard(obj, &owner),
                _ => {}
            }
        }
        self
    }

    fn collect_views(&mut self) {
        for obj in self.objects.iter().filter(|o| o["type"] == "index-pattern") {
            let a = &obj["attributes"];
            let title = a["title"].as_str().unwrap_or("").to_string();
            let mut extra = BTreeSet::new();
            if let Some(Value::Object(rt)) = a["runtimeFieldMap"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
            {
                extra.extend(rt.keys().cloned());
            }
            if let Some(Value::Array(fields)) = a["fields"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
            {
                for f in fields.iter().filter(|f| f["scripted"] == true) {
                    extra.insert(f["name"].as_str().unwrap_or("").to_string());
                }
            }
            let mapping = mapping_for_title(&title);
            self.views.insert(
                obj["id"].as_str().unwrap_or("").to_string(),
                DataView {
                    title,
                    extra,
                    mapping,
                },
            );
        }
    }

    /// The saved-object envelope each flavour wants.
    fn check_format(&mut self, obj: &Value, owner: &str) {
        let kind = obj["type"].as_str().unwrap_or("");
        match self.flavor {
            Flavor::Kibana => {
                if !["index-pattern", "lens", "dashboard", "search"].contains(&kind) {
                    self.problem(format!(
                        "{owner}: Kibana bundle objects are index-pattern, lens, dashboard or search only"
                    ));
                }
                if obj.get("managed") != Some(&Value::Bool(false)) {
                    self.problem(format!("{owner}: needs \"managed\": false"));
                }
                if obj.get("migrationVersion").is_some() {
                    self.problem(format!(
                        "{owner}: Kibana 8 uses typeMigrationVersion, not migrationVersion"
                    ));
                }
                for key in ["coreMigrationVersion", "typeMigrationVersion"] {
                    match obj.get(key).and_then(Value::as_str).and_then(version) {
                        None => self.problem(format!("{owner}: no {key}")),
                        Some(v) if v > KIBANA_OLDEST => self.problem(format!(
                            "{owner}: {key} is newer than Kibana {KIBANA_OLDEST:?}: older Kibanas refuse it"
                        )),
                        _ => {}
                    }
                }
            }
            Flavor::OpensearchDashboards => {
                if !["index-pattern", "visualization", "dashboard", "search"].contains(&kind) {
                    self.problem(format!(
                        "{owner}: OpenSearch Dashboards bundle objects are index-pattern, visualization, dashboard or search only"
                    ));
                }
                match obj.get("migrationVersion").and_then(|m| m.get(kind)) {
                    Some(Value::String(v)) if version(v).is_some() => {}
                    _ => self.problem(format!("{owner}: needs migrationVersion.{kind}")),
                }
                if obj.get("typeMigrationVersion").is_some() {
                    self.problem(format!(
                        "{owner}: typeMigrationVersion is Kibana 8's; OpenSearch Dashboards wants migrationVersion"
                    ));
                }
            }
        }
    }

    /// Attributes that Kibana keeps as JSON inside a string must be strings that parse.
    fn check_json_strings(&mut self, v: &Value, owner: &str, path: &str) {
        const STRING_JSON: &[&str] = &[
            "fieldAttrs",
            "fieldFormatMap",
            "fields",
            "runtimeFieldMap",
            "sourceFilters",
            "typeMeta",
            "visState",
        ];
        if let Some(map) = v.as_object() {
            for (k, inner) in map {
                let here = format!("{path}.{k}");
                if k.ends_with("JSON") || STRING_JSON.contains(&k.as_str()) {
                    let mut p = Vec::new();
                    json_string(inner, &format!("{owner}: {here}"), &mut p);
                    self.problems.extend(p);
                } else {
                    self.check_json_strings(inner, owner, &here);
                }
            }
        }
    }

    fn check_view(&mut self, obj: &Value, owner: &str) {
        let id = obj["id"].as_str().unwrap_or("").to_string();
        let a = obj["attributes"].clone();
        match a["timeFieldName"].as_str() {
            Some("@timestamp") => {}
            _ => self.problem(format!("{owner}: time field must be @timestamp")),
        }
        if self.views[&id].mapping.is_none() {
            return;
        }
        self.field(owner, &id, "@timestamp", Some("date_histogram"));
        let mut p = Vec::new();
        if let Some(Value::Object(formats)) = json_string(&a["fieldFormatMap"], owner, &mut p) {
            for name in formats.keys() {
                self.field(owner, &id, name, None);
            }
        }
        let mut scripts = Vec::new();
        if let Some(Value::Object(rt)) = a
            .get("runtimeFieldMap")
            .and_then(|r| json_string(r, owner, &mut p))
        {
            scripts.extend(rt.values().filter_map(|r| {
                r.pointer("/script/source")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }));
        }
        if let Some(Value::Array(fields)) = json_string(&a["fields"], owner, &mut p) {
            scripts.extend(
                fields
                    .iter()
                    .filter_map(|f| f["script"].as_str().map(str::to_string)),
            );
        }
        self.problems.extend(p);
        for s in scripts {
            for f in painless_fields(&s) {
                self.field(owner, &id, &f, Some("count"));
            }
        }
    }

    fn check_lens(&mut self, obj: &Value, owner: &str) {
        let state = &obj["attributes"]["state"];
        let Some(layers) = state
            .pointer("/datasourceStates/formBased/layers")
            .and_then(Value::as_object)
        else {
            self.problem(format!("{owner}: no formBased layers"));
            return;
        };
        let mut known_columns = BTreeSet::new();
        let mut views = Vec::new();
        for (layer_id, layer) in layers {
            let ref_name = format!("indexpattern-datasource-layer-{layer_id}");
            let Some((kind, view)) = self.reference(obj, &ref_name) else {
                self.problem(format!(
                    "{owner}: layer {layer_id} has no reference {ref_name}"
                ));
                continue;
            };
            if kind != "index-pattern" {
                self.problem(format!("{owner}: {ref_name} is not an index-pattern"));
            }
            views.push(view.clone());
            let columns = layer["columns"].as_object().cloned().unwrap_or_default();
            for id in layer["columnOrder"].as_array().into_iter().flatten() {
                if !columns.contains_key(id.as_str().unwrap_or("")) {
                    self.problem(format!("{owner}: columnOrder names a missing column {id}"));
                }
            }
            for (col_id, col) in &columns {
                known_columns.insert(col_id.clone());
                let op = col["operationType"].as_str().unwrap_or("");
                match col["sourceField"].as_str() {
                    Some("___records___") if op == "count" => {}
                    Some(f) => self.field(owner, &view, f, Some(op)),
                    None => self.problem(format!("{owner}: column {col_id} has no sourceField")),
                }
                if let Some(Value::String(by)) = col.pointer("/params/orderBy/columnId") {
                    if !columns.contains_key(by) {
                        self.problem(format!("{owner}: column {col_id} orders by missing {by}"));
                    }
                }
            }
        }
        for view in views {
            self.query(owner, &view, &state["query"]);
        }
        // Every accessor of the visualization names a column.
        let vis = &state["visualization"];
        let mut accessors = Vec::new();
        let layers = vis["layers"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![vis.clone()]);
        for l in &layers {
            for key in ["xAccessor", "splitAccessor", "metricAccessor"] {
                if let Some(a) = l[key].as_str() {
                    accessors.push(a.to_string());
                }
            }
            for a in l["accessors"].as_array().into_iter().flatten() {
                accessors.push(a.as_str().unwrap_or("").to_string());
            }
            for c in l["columns"].as_array().into_iter().flatten() {
                accessors.push(c["columnId"].as_str().unwrap_or("").to_string());
            }
        }
        if accessors.is_empty() {
            self.problem(format!("{owner}: the visualization shows no column"));
        }
        for a in accessors {
            if !known_columns.contains(&a) {
                self.problem(format!(
                    "{owner}: the visualization names a missing column {a}"
                ));
            }
        }
    }

    fn search_source(&mut self, obj: &Value, owner: &str) -> Option<(Value, String)> {
        let mut p = Vec::new();
        let source = json_string(
            &obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"],
            owner,
            &mut p,
        );
        self.problems.extend(p);
        let source = source?;
        let ref_name = source["indexRefName"].as_str()?.to_string();
        match self.reference(obj, &ref_name) {
            Some((kind, id)) if kind == "index-pattern" => Some((source, id)),
            _ => {
                self.problem(format!(
                    "{owner}: indexRefName {ref_name} names no index-pattern reference"
                ));
                None
            }
        }
    }

    fn check_search(&mut self, obj: &Value, owner: &str) {
        let Some((source, view)) = self.search_source(obj, owner) else {
            self.problem(format!("{owner}: a saved search needs a data view"));
            return;
        };
        let a = obj["attributes"].clone();
        for c in a["columns"].as_array().into_iter().flatten() {
            self.field(owner, &view, c.as_str().unwrap_or(""), None);
        }
        for s in a["sort"].as_array().into_iter().flatten() {
            self.field(owner, &view, s[0].as_str().unwrap_or(""), Some("min"));
        }
        self.query(owner, &view, &source["query"]);
    }

    fn check_vis(&mut self, obj: &Value, owner: &str) {
        let mut p = Vec::new();
        let Some(vis) = json_string(&obj["attributes"]["visState"], owner, &mut p) else {
            self.problems.extend(p);
            return;
        };
        if vis["title"] != obj["attributes"]["title"] {
            self.problem(format!("{owner}: visState.title differs from the title"));
        }
        let source = self.search_source(obj, owner);
        if vis["type"] == "input_control_vis" {
            for c in vis["params"]["controls"].as_array().into_iter().flatten() {
                let ref_name = c["indexPatternRefName"].as_str().unwrap_or("");
                match self.reference(obj, ref_name) {
                    Some((_, view)) => self.field(
                        owner,
                        &view,
                        c["fieldName"].as_str().unwrap_or(""),
                        Some("terms"),
                    ),
                    None => {
                        self.problem(format!("{owner}: control names no reference `{ref_name}`"))
                    }
                }
            }
            return;
        }
        let Some((source, view)) = source else {
            self.problem(format!("{owner}: a visualization needs a data view"));
            return;
        };
        let aggs = vis["aggs"].as_array().cloned().unwrap_or_default();
        if aggs.is_empty() {
            self.problem(format!("{owner}: no aggregations"));
        }
        for agg in &aggs {
            let op = agg["type"].as_str().unwrap_or("");
            if let Some(f) = agg["params"]["field"].as_str() {
                self.field(owner, &view, f, Some(op));
            } else if op != "count" {
                self.problem(format!("{owner}: aggregation {op} has no field"));
            }
        }
        self.query(owner, &view, &source["query"]);
    }

    fn check_dashboard(&mut self, obj: &Value, owner: &str) {
        let a = obj["attributes"].clone();
        let mut p = Vec::new();
        let panels = json_string(&a["panelsJSON"], owner, &mut p);
        self.problems.extend(p);
        let Some(Value::Array(panels)) = panels else {
            self.problem(format!("{owner}: panelsJSON is not a list"));
            return;
        };
        if panels.is_empty() {
            self.problem(format!("{owner}: no panels"));
        }
        let mut indices = BTreeSet::new();
        for panel in &panels {
            let index = panel["panelIndex"].as_str().unwrap_or("").to_string();
            if !indices.insert(index.clone()) {
                self.problem(format!("{owner}: panelIndex {index} twice"));
            }
            if panel["gridData"]["i"].as_str() != Some(index.as_str()) {
                self.problem(format!(
                    "{owner}: panel {index}: gridData.i differs from panelIndex"
                ));
            }
            let x = panel["gridData"]["x"].as_u64().unwrap_or(99);
            let w = panel["gridData"]["w"].as_u64().unwrap_or(99);
            if x + w > 48 || w == 0 {
                self.problem(format!(
                    "{owner}: panel {index} does not fit the 48-column grid"
                ));
            }
            let Some(ref_name) = panel["panelRefName"].as_str() else {
                self.problem(format!("{owner}: panel {index} has no panelRefName"));
                continue;
            };
            let full = match self.flavor {
                Flavor::Kibana => format!("{index}:{ref_name}"),
                Flavor::OpensearchDashboards => ref_name.to_string(),
            };
            match self.reference(obj, &full) {
                None => self.problem(format!("{owner}: panel {index}: no reference named {full}")),
                Some((kind, _)) => {
                    if let Some(t) = panel["type"].as_str() {
                        if t != kind {
                            self.problem(format!(
                                "{owner}: panel {index} is a {t} but its reference is a {kind}"
                            ));
                        }
                    }
                }
            }
        }
        let controls = a
            .pointer("/controlGroupInput/panelsJSON")
            .cloned()
            .unwrap_or(Value::Null);
        if controls.is_null() {
            return;
        }
        let mut p = Vec::new();
        let controls = json_string(&controls, owner, &mut p);
        self.problems.extend(p);
        for (id, c) in controls
            .and_then(|c| c.as_object().cloned())
            .unwrap_or_default()
        {
            let ref_name = format!("controlGroup_{id}:optionsListDataView");
            match self.reference(obj, &ref_name) {
                Some((_, view)) => {
                    let field = c["explicitInput"]["fieldName"].as_str().unwrap_or("");
                    self.field(owner, &view, field, Some("terms"));
                }
                None => self.problem(format!("{owner}: control {id} has no reference {ref_name}")),
            }
        }
    }
}

/// Parse and check a bundle; every problem found, in order.
fn check_bundle(flavor: Flavor, text: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}", n + 1);
        let obj: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{at}: not JSON: {e}"));
                continue;
            }
        };
        for key in ["type", "id"] {
            if obj[key].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{at}: no {key}"));
            }
        }
        if !obj["attributes"].is_object() {
            problems.push(format!("{at}: no attributes"));
        }
        if obj["attributes"]["title"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            problems.push(format!("{at}: no attributes.title"));
        }
        match obj["references"].as_array() {
            None => problems.push(format!("{at}: no references list")),
            Some(refs) => {
                for r in refs {
                    for key in ["name", "type", "id"] {
                        if !r[key].is_string() {
                            problems.push(format!("{at}: a reference without {key}"));
                        }
                    }
                }
            }
        }
        objects.push(obj);
    }
    let mut seen = BTreeMap::new();
    for o in &objects {
        let id = o["id"].as_str().unwrap_or("").to_string();
        if let Some(t) = seen.insert(id.clone(), o["type"].clone()) {
            problems.push(format!("id {id} is used twice ({t} and {})", o["type"]));
        }
    }
    for o in &objects {
        for r in o["references"].as_array().into_iter().flatten() {
            let found = objects
                .iter()
                .any(|t| t["type"] == r["type"] && t["id"] == r["id"]);
            if !found {
                problems.push(format!(
                    "{} {}: reference {} ({} {}) is not in the bundle",
                    o["type"], o["id"], r["name"], r["type"], r["id"]
                ));
            }
        }
    }
    let checker = Checker {
        flavor,
        objects,
        views: HashMap::new(),
        problems,
        uses: Vec::new(),
    }
    .run();
    (checker.problems, checker.uses)
}

fn bundles() -> [(Flavor, &'static str); 2] {
    [
        (Flavor::Kibana, KIBANA_BUNDLE),
        (Flavor::OpensearchDashboards, OPENSEARCH_DASHBOARDS_BUNDLE),
    ]
}

#[test]
fn both_bundles_are_clean() {
    for (flavor, text) in bundles() {
        let (problems, uses) = check_bundle(flavor, text);
        assert!(problems.is_empty(), "{flavor}:\n{}", problems.join("\n"));
        assert!(uses.len() > 40, "{flavor}: only {} field uses", uses.len());
    }
}

#[test]
fn the_files_on_disk_are_the_embedded_bundles() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (flavor, text) in bundles() {
        let path = format!("{root}/dashboards/{}/logwarden.ndjson", flavor.as_str());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{path}");
    }
}

/// The panels the issue asks for are there, in both flavours, on the right fields.
#[test]
fn the_bundles_have_the_promised_panels() {
    for (flavor, text) in bundles() {
        let (_, uses) = check_bundle(flavor, text);
        let used_by = |field: &str| -> BTreeSet<String> {
            uses.iter()
                .filter(|(_, f)| f == field)
                .map(|(o, _)| o.clone())
                .collect()
        };
        let both = |a: &str, b: &str| used_by(a).intersection(&used_by(b)).count() > 0;
        // Over time, stacked by severity, type and service.
        for (f, chart) in [
            ("anomaly.severity", "anomalies-by-severity"),
            ("anomaly.type", "anomalies-by-type"),
            ("service.name", "anomalies-by-service"),
        ] {
            let users = used_by(f);
            assert!(
                users.iter().any(|o| o.ends_with(chart))
                    && used_by("@timestamp").iter().any(|o| o.ends_with(chart)),
                "{flavor}: no over-time chart by {f}: {users:?}"
            );
        }
        assert!(
            both("pattern.template", "anomaly.score"),
            "{flavor}: top patterns"
        );
        assert!(
            both("anomaly.explanation", "anomaly.observed")
                && both("anomaly.expected", "pattern.examples")
                && both("anomaly.explanation", "discover_logs"),
            "{flavor}: latest anomalies table"
        );
        assert!(
            both("rate.count", "rate.expected"),
            "{flavor}: pattern rate chart"
        );
        assert!(
            both("forecast.breach_at", "forecast.hours_to_breach"),
            "{flavor}: what is predicted"
        );
        assert!(
            both("incident.title", "incident.severity"),
            "{flavor}: incidents"
        );
        // Filters for service, severity and type on the overview.
        let overview_filters: BTreeSet<String> = uses
            .iter()
            .filter(|(o, _)| o.contains("overview"))
            .map(|(_, f)| f.clone())
            .collect();
        for f in ["service.name", "anomaly.severity", "anomaly.type"] {
            assert!(
                overview_filters.contains(f),
                "{flavor}: no {f} filter: {overview_filters:?}"
            );
        }
        let dashboards = text
            .lines()
            .filter(|l| l.contains("\"type\":\"dashboard\""))
            .count();
        assert_eq!(
            dashboards, 3,
            "{flavor}: overview, incidents, pattern rates"
        );
    }
}

#[test]
fn the_discover_link_covers_the_service_and_the_30_minutes_before() {
    for (flavor, text) in bundles() {
        let view: Value = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|o| o["id"] == "logwarden-anomalies")
            .unwrap();
        let a = &view["attributes"];
        let script = match flavor {
            Flavor::Kibana => {
                let rt: Value =
                    serde_json::from_str(a["runtimeFieldMap"].as_str().unwrap()).unwrap();
                assert_eq!(rt["discover_logs"]["type"], "keyword");
                rt["discover_logs"]["script"]["source"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
            Flavor::OpensearchDashboards => {
                let f: Value = serde_json::from_str(a["fields"].as_str().unwrap()).unwrap();
                f[0]["script"].as_str().unwrap().to_string()
            }
        };
        assert!(script.contains("1800000L"), "30 minutes before: {script}");
        assert!(script.contains("service.name:%22"), "{script}");
        assert!(script.contains("'logwarden-logs\\'"), "{script}");
        assert_eq!(
            painless_fields(&script),
            BTreeSet::from(["service.name", "@timestamp", "anomaly.window.end"].map(String::from))
        );
        let formats: Value = serde_json::from_str(a["fieldFormatMap"].as_str().unwrap()).unwrap();
        assert_eq!(formats["discover_logs"]["id"], "url");
        assert_eq!(
            formats["discover_logs"]["params"]["urlTemplate"],
            "{{rawValue}}"
        );
    }
}

// --- The checker catches what it must -----------------------------------------------------

fn problems_after(flavor: Flavor, from: &str, to: &str) -> Vec<String> {
    let text = match flavor {
        Flavor::Kibana => KIBANA_BUNDLE,
        Flavor::OpensearchDashboards => OPENSEARCH_DASHBOARDS_BUNDLE,
    };
    assert!(text.contains(from), "{flavor} bundle has no `{from}`");
    check_bundle(flavor, &text.replace(from, to)).0
}

#[test]
fn a_made_up_field_is_caught() {
    for flavor in Flavor::ALL {
        let p = problems_after(flavor, "anomaly.severity", "anomaly.sevrity");
        assert!(
            p.iter().any(|m| m
                .contains("field `anomaly.sevrity` is not in the mapping of logwarden-anomalies*")),
            "{flavor}: {p:?}"
        );
        let p = problems_after(flavor, "rate.expected", "rate.expectation");
        assert!(
            p.iter()
                .any(|m| m
                    .contains("`rate.expectation` is not in the mapping of logwarden-patterns*")),
            "{flavor}: {p:?}"
        );
    }
}

#[test]
fn a_field_of_the_wrong_mapping_is_caught() {
    // forecast.* lives in the anomaly mapping, not in the pattern-rate one.
    let p = problems_after(
        Flavor::Kibana,
        "\"sourceField\":\"rate.errors\"",
        "\"sourceField\":\"forecast.level\"",
    );
    assert!(
        p.iter().any(|m| m.contains("lens logwarden-pattern-rate-table: field `forecast.level` is not in the mapping of logwarden-patterns*")),
        "{p:?}"
    );
}

#[test]
fn an_aggregation_on_a_text_field_is_caught() {
    let p = problems_after(
        Flavor::OpensearchDashboards,
        "\\\"field\\\":\\\"pattern.template\\\"",
        "\\\"field\\\":\\\"pattern.template.text\\\"",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("`terms` cannot run on `pattern.template.text` (a text field)")),
        "{p:?}"
    );
}

#[test]
fn a_missing_object_breaks_its_references() {
    for flavor in Flavor::ALL {
        let text = match flavor {
            Flavor::Kibana => KIBANA_BUNDLE,
            Flavor::OpensearchDashboards => OPENSEARCH_DASHBOARDS_BUNDLE,
        };
        let without: String = text
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["id"] != "logwarden-top-patterns")
            .map(|l| format!("{l}\n"))
            .collect();
        let (p, _) = check_bundle(flavor, &without);
        assert!(
            p.iter().any(
                |m| m.contains("\"dashboard\" \"logwarden-overview\": reference")
                    && m.contains("logwarden-top-patterns")
            ),
            "{flavor}: {p:?}"
        );
    }
}

#[test]
fn format_breaks_are_caught() {
    let p = problems_after(Flavor::Kibana, "\"managed\":false", "\"managed\":true");
    assert!(
        p.iter().any(|m| m.contains("needs \"managed\": false")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::Kibana,
        "\"typeMigrationVersion\":\"8.9.0\"",
        "\"typeMigrationVersion\":\"9.1.0\"",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("typeMigrationVersion is newer")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::Kibana,
        "\"type\":\"lens\",\"typeMigrationVersion\"",
        "\"type\":\"visualization\",\"typeMigrationVersion\"",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("index-pattern, lens, dashboard or search only")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::OpensearchDashboards,
        "\"migrationVersion\":{\"visualization\":\"7.10.0\"},",
        "",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("needs migrationVersion.visualization")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::Kibana,
        "\"panelsJSON\":\"[{",
        "\"panelsJSON\":\"[[{",
    );
    assert!(
        p.iter().any(|m| m.contains("panelsJSON: not valid JSON")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::OpensearchDashboards,
        "\"name\":\"panel_0\"",
        "\"name\":\"panel_zero\"",
    );
    assert!(
        p.iter().any(|m| m.contains("no reference named panel_0")),
        "{p:?}"
    );
    let p = problems_after(
        Flavor::Kibana,
        "\"splitAccessor\":\"split\"",
        "\"splitAccessor\":\"splits\"",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("names a missing column splits")),
        "{p:?}"
    );
}

#[test]
fn a_query_on_a_missing_field_is_caught() {
    let p = problems_after(
        Flavor::Kibana,
        "anomaly.type : \\\"forecast_breach\\\"",
        "anomaly.kind : \\\"forecast_breach\\\"",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("`anomaly.kind` is not in the mapping")),
        "{p:?}"
    );
}

#[test]
fn kql_fields_are_found_outside_quotes() {
    assert_eq!(
        kql_fields(r#"anomaly.type : "a: b" and service.name:x or not tenant :"q\"r:""#),
        ["anomaly.type", "service.name", "tenant"]
    );
}

#[test]
fn a_link_script_on_a_missing_field_is_caught() {
    for flavor in Flavor::ALL {
        let p = problems_after(
            flavor,
            "doc['anomaly.window.end']",
            "doc['anomaly.window.stop']",
        );
        assert!(
            p.iter().any(|m| m.starts_with("index-pattern logwarden-anomalies: field `anomaly.window.stop` is not in the mapping")),
            "{flavor}: {p:?}"
        );
    }
}
