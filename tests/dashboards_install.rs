//! `dashboards install` against a real HTTP server on 127.0.0.1 that reads the request the
//! way Kibana's saved-objects import route does: method, path (with and without a space),
//! `overwrite=true`, the xsrf header of the flavour, the Authorization header, a multipart body
//! with a boundary whose one part is named `file` with a `.ndjson` file name and holds the
//! bundle. It answers like Kibana (200 with per-object results, or 401), and the tests check
//! the report, the printed lines and the exit status.

use logwarden::backend::{AuthConfig, SecretRef};
use logwarden::dashboards::{self, Flavor, InstallSettings};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread::JoinHandle;

/// One request as the server read it.
#[derive(Debug)]
struct Request {
    method: String,
    target: String,
    /// Lowercased names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serve one request on a free port, answering `status` with `answer`; the handle returns
/// what was received.
fn serve_once(status: u16, answer: String) -> (String, JoinHandle<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap().to_string();
        let target = parts.next().unwrap().to_string();
        assert_eq!(parts.next(), Some("HTTP/1.1"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut request = Request {
            method,
            target,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = request.header("content-length") {
            request.body.resize(len.parse().unwrap(), 0);
            reader.read_exact(&mut request.body).unwrap();
        } else if request.header("transfer-encoding") == Some("chunked") {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
                request.body.extend_from_slice(&chunk[..size]);
            }
        }
        let reason = if status == 200 { "OK" } else { "Unauthorized" };
        write!(
            stream,
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        stream.flush().unwrap();
        request
    });
    (url, handle)
}

/// Standard base64 decoding, for reading the Authorization header back.
fn unbase64(text: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|&c| c != '=') {
        bits = (bits << 6) | ALPHABET.find(c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The multipart body as Kibana's route reads it: the boundary from the content type, the
/// parts, each with its headers and content.
fn multipart_parts(req: &Request) -> Vec<(Vec<String>, Vec<u8>)> {
    let ct = req.header("content-type").expect("a content type");
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart with a boundary: {ct}"))
        .trim_matches('"');
    assert!(!boundary.is_empty());
    let body = &req.body;
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8(body.clone()).expect("the bundle is UTF-8");
    let mut sections: Vec<&str> = text.split(delimiter.as_str()).collect();
    assert_eq!(sections.remove(0), "", "nothing before the first boundary");
    assert_eq!(sections.pop(), Some("--\r\n"), "closing boundary");
    sections
        .iter()
        .map(|s| {
            let s = s.strip_prefix("\r\n").expect("CRLF after the boundary");
            let s = s
                .strip_suffix("\r\n")
                .expect("CRLF before the next boundary");
            let (head, content) = s.split_once("\r\n\r\n").expect("part headers");
            (
                head.split("\r\n").map(str::to_string).collect(),
                content.as_bytes().to_vec(),
            )
        })
        .collect()
}

/// Everything a Kibana-like server requires of the request, for `flavor`.
fn check_request(req: &Request, flavor: Flavor, path: &str) {
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, format!("{path}?overwrite=true"));
    let (wanted, other) = match flavor {
        Flavor::Kibana => ("kbn-xsrf", "osd-xsrf"),
        Flavor::OpensearchDashboards => ("osd-xsrf", "kbn-xsrf"),
    };
    assert_eq!(req.header(wanted), Some("true"), "{:?}", req.headers);
    assert_eq!(req.header(other), None);
    let parts = multipart_parts(req);
    assert_eq!(parts.len(), 1, "one part");
    let (head, content) = &parts[0];
    let disposition = head
        .iter()
        .find(|h| h.to_ascii_lowercase().starts_with("content-disposition:"))
        .expect("a content disposition");
    assert!(
        disposition.contains("form-data; name=\"file\"; filename=\""),
        "{disposition}"
    );
    let filename = disposition
        .split("filename=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert!(filename.ends_with(".ndjson"), "{filename}");
    assert_eq!(content.as_slice(), flavor.bundle().as_bytes());
}

/// Kibana's answer when every object but `failing` was imported.
fn kibana_answer(flavor: Flavor, failing: Option<&str>) -> String {
    let objects = dashboards::bundle_objects(flavor).unwrap();
    let ok: Vec<Value> = objects
        .iter()
        .filter(|o| Some(o.id.as_str()) != failing)
        .map(|o| json!({"type": o.kind, "id": o.id, "meta": {"title": o.title, "icon": "app"}, "overwrite": true}))
        .collect();
    let errors: Vec<Value> = objects
        .iter()
        .filter(|o| Some(o.id.as_str()) == failing)
        .map(|o| {
            json!({"id": o.id, "type": o.kind, "title": o.title, "meta": {"title": o.title, "icon": "lensApp"},
                   "error": {"type": "unknown", "statusCode": 400,
                             "message": "Unable to migrate: visualization type lnsFoo is unknown"}})
        })
        .collect();
    json!({
        "successCount": ok.len(),
        "success": errors.is_empty(),
        "warnings": [],
        "successResults": ok,
        "errors": errors,
    })
    .to_string()
}

fn secret_file(dir: &tempfile::TempDir, name: &str, value: &str) -> SecretRef {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    SecretRef {
        env: None,
        file: Some(path),
    }
}

#[tokio::test]
async fn kibana_default_space_with_basic_auth_reports_the_one_failed_object() {
    let (url, server) = serve_once(
        200,
        kibana_answer(Flavor::Kibana, Some("logwarden-top-patterns")),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut s = InstallSettings::new(format!("{url}/"), Flavor::Kibana);
    s.auth = AuthConfig::Basic {
        username: "elastic".to_string(),
        password: secret_file(&dir, "pw", "s3cret:x"),
    };
    let report = dashboards::install(&s).await.unwrap();
    let req = server.join().unwrap();
    check_request(&req, Flavor::Kibana, "/api/saved_objects/_import");
    assert_eq!(req.header("securitytenant"), None);
    let auth = req.header("authorization").unwrap();
    assert_eq!(
        unbase64(auth.strip_prefix("Basic ").unwrap()),
        "elastic:s3cret:x"
    );
    assert!(!report.success);
    assert_eq!(report.failed(), 1);
    assert_eq!(
        report.objects.len(),
        dashboards::bundle_objects(Flavor::Kibana).unwrap().len()
    );
    let failed: Vec<_> = report
        .objects
        .iter()
        .filter(|o| o.error.is_some())
        .collect();
    assert_eq!(failed[0].id, "logwarden-top-patterns");
    assert_eq!(
        failed[0].error.as_deref(),
        Some("unknown (400): Unable to migrate: visualization type lnsFoo is unknown")
    );
}

#[tokio::test]
async fn kibana_space_with_an_api_key() {
    let (url, server) = serve_once(200, kibana_answer(Flavor::Kibana, None));
    let dir = tempfile::tempdir().unwrap();
    let mut s = InstallSettings::new(url, Flavor::Kibana);
    s.space = Some("ops-team".to_string());
    s.auth = AuthConfig::ApiKey {
        id: "key-id".to_string(),
        key: secret_file(&dir, "key", "key-secret"),
    };
    let report = dashboards::install(&s).await.unwrap();
    let req = server.join().unwrap();
    check_request(
        &req,
        Flavor::Kibana,
        "/s/ops-team/api/saved_objects/_import",
    );
    let auth = req.header("authorization").unwrap();
    assert_eq!(
        unbase64(auth.strip_prefix("ApiKey ").unwrap()),
        "key-id:key-secret"
    );
    assert!(report.all_imported(), "{report:?}");
}

#[tokio::test]
async fn opensearch_dashboards_gets_its_bundle_and_header() {
    let (url, server) = serve_once(200, kibana_answer(Flavor::OpensearchDashboards, None));
    let mut s = InstallSettings::new(url, Flavor::OpensearchDashboards);
    s.tenant = Some("global".to_string());
    let report = dashboards::install(&s).await.unwrap();
    let req = server.join().unwrap();
    check_request(
        &req,
        Flavor::OpensearchDashboards,
        "/api/saved_objects/_import",
    );
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.header("securitytenant"), Some("global"));
    assert!(report.all_imported());
    assert_eq!(
        report.success_count as usize,
        dashboards::bundle_objects(Flavor::OpensearchDashboards)
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn a_401_gives_the_servers_message() {
    let (url, server) = serve_once(
        401,
        r#"{"statusCode":401,"error":"Unauthorized","message":"[security_exception]: unable to authenticate user [elastic] for REST request [/api/saved_objects/_import]"}"#
            .to_string(),
    );
    let err = dashboards::install(&InstallSettings::new(url, Flavor::Kibana))
        .await
        .unwrap_err()
        .to_string();
    server.join().unwrap();
    assert_eq!(
        err,
        "import: Kibana answered 401: Unauthorized: [security_exception]: unable to authenticate user [elastic] for REST request [/api/saved_objects/_import]"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_one_error_without_the_url() {
    // A port that was just free: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = dashboards::install(&InstallSettings::new(
        format!("http://127.0.0.1:{port}"),
        Flavor::Kibana,
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("import: Kibana unreachable: "), "{err}");
    assert!(!err.contains("127.0.0.1"), "{err}");
}

fn logwarden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
}

#[test]
fn the_cli_prints_a_line_per_object_and_fails_when_one_failed() {
    let (url, server) = serve_once(
        200,
        kibana_answer(Flavor::Kibana, Some("logwarden-pattern-rate")),
    );
    let out = logwarden()
        .args(["dashboards", "install", "--kibana-url", &url])
        .args(["--username", "elastic", "--password-env", "LW_DASH_TEST_PW"])
        .env("LW_DASH_TEST_PW", "changeme")
        .output()
        .unwrap();
    let req = server.join().unwrap();
    check_request(&req, Flavor::Kibana, "/api/saved_objects/_import");
    assert_eq!(
        unbase64(
            req.header("authorization")
                .unwrap()
                .strip_prefix("Basic ")
                .unwrap()
        ),
        "elastic:changeme"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        dashboards::bundle_objects(Flavor::Kibana).unwrap().len()
    );
    let failed: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(
        failed[0].starts_with("FAILED  lens logwarden-pattern-rate \""),
        "{}",
        failed[0]
    );
    assert!(failed[0].ends_with("visualization type lnsFoo is unknown"));
    let wanted = format!("1 of {} objects were not imported into Kibana", lines.len());
    assert!(stderr.contains(&wanted), "{stderr}");
    assert!(!stderr.contains("changeme") && !stdout.contains("changeme"));
}

#[test]
fn the_cli_takes_auth_from_the_config_and_succeeds_when_all_imported() {
    let (url, server) = serve_once(200, kibana_answer(Flavor::OpensearchDashboards, None));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lw.yaml");
    std::fs::write(
        &config,
        "cluster:\n  url: http://127.0.0.1:9\n  auth:\n    type: api_key\n    id: from-config\n    key:\n      env: LW_DASH_TEST_KEY\n",
    )
    .unwrap();
    let out = logwarden()
        .arg("--config")
        .arg(&config)
        .args(["dashboards", "install", "--kibana-url", &url])
        .args(["--flavor", "opensearch-dashboards"])
        .env("LW_DASH_TEST_KEY", "k3y")
        .output()
        .unwrap();
    let req = server.join().unwrap();
    check_request(
        &req,
        Flavor::OpensearchDashboards,
        "/api/saved_objects/_import",
    );
    assert_eq!(
        unbase64(
            req.header("authorization")
                .unwrap()
                .strip_prefix("ApiKey ")
                .unwrap()
        ),
        "from-config:k3y"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.lines().all(|l| l.starts_with("ok ")), "{stdout}");
    assert!(stdout.contains("ok      dashboard logwarden-overview \"logwarden: overview\""));
}

#[test]
fn the_cli_refuses_a_bad_space_before_sending_anything() {
    let out = logwarden()
        .args([
            "dashboards",
            "install",
            "--kibana-url",
            "http://127.0.0.1:9",
        ])
        .args(["--space", "Ops Team"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("`dashboards.space`"), "{stderr}");
}

#[test]
fn the_cli_exports_both_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let out = logwarden()
        .args(["dashboards", "export", "--output"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    for f in Flavor::ALL {
        let written = std::fs::read_to_string(dir.path().join(f.file_name())).unwrap();
        assert_eq!(written, f.bundle());
    }
    let only = dir.path().join("only");
    let out = logwarden()
        .args(["dashboards", "export", "--flavor", "kibana", "--output"])
        .arg(&only)
        .output()
        .unwrap();
    assert!(out.status.success());
    let names: Vec<String> = std::fs::read_dir(&only)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["logwarden-kibana.ndjson"]);
}
