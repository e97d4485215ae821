//! The commented example configuration is the configuration reference: it must parse, it
//! must equal the defaults it claims, and it must list every key there is.

use logwarden::config::Config;
use serde_json::Value;

const EXAMPLE: &str = include_str!("../logwarden.example.yaml");

fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(path.clone());
            // Maps whose keys are user-chosen names hold examples, not keys.
            if !matches!(
                path.as_str(),
                "sources" | "services" | "incidents.related_services"
            ) {
                keys(v, &path, out);
            }
        }
    }
}

#[test]
fn example_parses_and_validates() {
    let cfg = Config::from_yaml(EXAMPLE).expect("the example config parses");
    cfg.validate().expect("the example config is valid");
    assert_eq!(cfg.sources["app_logs"].index, "logs-*");
}

#[test]
fn example_lists_every_key_with_its_default() {
    let example = serde_json::to_value(Config::from_yaml(EXAMPLE).unwrap()).unwrap();
    let minimal =
        "cluster:\n  url: http://localhost:9200\nsources:\n  app_logs:\n    index: \"logs-*\"\n";
    let defaults = serde_json::to_value(Config::from_yaml(minimal).unwrap()).unwrap();
    assert_eq!(example, defaults, "the example states the defaults");
    let written: serde_yaml_free::Keys = serde_yaml_free::Keys::of(EXAMPLE);
    let mut all = Vec::new();
    keys(&defaults, "", &mut all);
    let missing: Vec<_> = all.iter().filter(|k| !written.has(k)).collect();
    assert!(
        missing.is_empty(),
        "keys missing from logwarden.example.yaml: {missing:?}"
    );
}

/// Which keys a YAML text writes, read from its indentation (enough for this file).
mod serde_yaml_free {
    pub struct Keys(Vec<String>);

    impl Keys {
        pub fn of(text: &str) -> Keys {
            let mut stack: Vec<(usize, String)> = Vec::new();
            let mut out = Vec::new();
            for line in text.lines() {
                let body = line.split(" #").next().unwrap_or("");
                let trimmed = body.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
                    continue;
                }
                let Some((key, _)) = trimmed.split_once(':') else {
                    continue;
                };
                if key.contains(' ') || key.contains('[') {
                    continue;
                }
                let indent = body.len() - trimmed.len();
                while stack.last().is_some_and(|(i, _)| *i >= indent) {
                    stack.pop();
                }
                let key = key.trim_matches('"').to_string();
                let path = stack
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .chain([key.as_str()])
                    .collect::<Vec<_>>()
                    .join(".");
                stack.push((indent, key));
                out.push(path);
            }
            Keys(out)
        }

        pub fn has(&self, key: &str) -> bool {
            self.0.iter().any(|k| k == key)
        }
    }
}
