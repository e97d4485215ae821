//! The config the docker compose demo mounts (docker/logwarden.yaml) is a valid logwarden
//! config that points at the compose services: a typo there would only show when someone
//! runs the stack, which CI cannot (no Docker engine); `scripts/check-compose` validates the
//! compose file itself.

use logwarden::config::Config;

const DOCKER_CONFIG: &str = include_str!("../docker/logwarden.yaml");
const COMPOSE: &str = include_str!("../docker/compose.yaml");

#[test]
fn docker_config_parses_validates_and_points_at_the_compose_services() {
    let cfg = Config::from_yaml(DOCKER_CONFIG).expect("docker/logwarden.yaml parses");
    cfg.validate().expect("docker/logwarden.yaml is valid");
    let cluster = cfg
        .cluster
        .as_ref()
        .expect("docker/logwarden.yaml has a cluster");
    assert_eq!(cluster.url, "http://elasticsearch:9200");
    assert_eq!(cfg.sources["demo"].index, "logs-demo");
    // The image's health check probes 127.0.0.1:9464 inside the container, and compose
    // publishes 9464: the endpoint must listen on every interface, on that port.
    assert_eq!(cfg.run.listen, "0.0.0.0:9464");
    // Model files go to the state volume the compose file mounts.
    assert!(cfg.run.state_dir.starts_with("/var/lib/logwarden"));
    assert!(COMPOSE.contains("logwarden-state:/var/lib/logwarden"));
    // The feed writes the index the source reads.
    assert!(COMPOSE.contains("\"--index\", \"logs-demo\""));
}

const DOCKERFILE: &str = include_str!("../docker/Dockerfile");

/// The bash script of the image's `HEALTHCHECK CMD ["bash", "-c", SCRIPT]`.
fn healthcheck_script() -> String {
    let at = DOCKERFILE
        .find("HEALTHCHECK ")
        .expect("the Dockerfile has a HEALTHCHECK");
    let exec = DOCKERFILE[at..]
        .split_once("CMD ")
        .expect("HEALTHCHECK … CMD")
        .1
        .lines()
        .next()
        .unwrap();
    let argv: Vec<String> = serde_json::from_str(exec).expect("CMD in exec (JSON) form");
    assert_eq!(argv[..2], ["bash", "-c"], "{argv:?}");
    argv[2].clone()
}

/// Serve one HTTP answer with `status` on a free loopback port; return the port and the
/// request line the server got.
fn serve_once(status: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        )
        .unwrap();
        request_line
    });
    (port, server)
}

/// The image's health check, run by bash against a real socket: it asks `GET /health` on
/// the sidecar's port and passes on 200 only.
#[test]
fn image_healthcheck_passes_on_200_only() {
    let script = healthcheck_script();
    assert!(
        script.contains("/dev/tcp/127.0.0.1/9464"),
        "the probe targets run.listen's default port: {script}"
    );
    for (status, healthy) in [("200 OK", true), ("503 Service Unavailable", false)] {
        let (port, server) = serve_once(status);
        let probe = script.replace("/9464", &format!("/{port}"));
        let ok = std::process::Command::new("bash")
            .args(["-c", &probe])
            .status()
            .expect("bash runs")
            .success();
        assert_eq!(ok, healthy, "answer {status}");
        assert_eq!(server.join().unwrap().trim_end(), "GET /health HTTP/1.1");
    }
    // Nothing listening: unhealthy, not hanging.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let probe = script.replace("/9464", &format!("/{port}"));
    let status = std::process::Command::new("bash")
        .args(["-c", &probe])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

/// Every command the compose file gives the logwarden image is one the CLI accepts, so the
/// stack cannot start with a misspelled flag.
#[test]
fn compose_commands_parse_with_the_cli() {
    use clap::Parser;
    let compose = include_str!("../docker/compose.yaml");
    let commands: Vec<Vec<String>> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("command: "))
        .map(|json| serde_json::from_str(json).expect("commands are JSON-style arrays"))
        .collect();
    assert!(commands.len() >= 3, "{commands:?}");
    let mut names = Vec::new();
    for c in &commands {
        let argv = std::iter::once("logwarden".to_string()).chain(c.iter().cloned());
        if let Err(e) = logwarden::cli::Cli::try_parse_from(argv) {
            panic!("compose command {c:?} is refused: {e}");
        }
        names.push(c[0].clone());
    }
    for want in ["run", "feed", "dashboards"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
    // A broken one is caught.
    let bad = ["logwarden", "feed", "--index", "x", "--follw"];
    assert!(logwarden::cli::Cli::try_parse_from(bad).is_err());
}
