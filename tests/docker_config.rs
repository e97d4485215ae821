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
