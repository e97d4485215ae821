//! TLS against a real cluster: `tls.ca_file` and `tls.insecure_skip_verify` of the backend.
//!
//! The test clusters speak plain HTTP, so each test puts a TLS-terminating proxy on
//! 127.0.0.1 in front of one (Elasticsearch at `LOGWARDEN_TEST_ES_URL`, OpenSearch at
//! `LOGWARDEN_TEST_OS_URL`; missing or unreachable fails, never skips: run
//! `scripts/clusters start` and `eval "$(scripts/clusters env)"`, or `scripts/test`). A CA
//! and a server certificate for 127.0.0.1 are made at test time with OpenSSL, the TLS stack
//! the `elasticsearch` and `opensearch` crates already use (reqwest's native-tls). Every
//! request of a test (detection, bulk, point in time, search) goes through the proxy.
//!
//! Checked: with the CA in `tls.ca_file` the backend connects and reads back the window it
//! wrote; without it, or with a CA that did not sign the certificate, or with a certificate
//! for another host name, connecting fails with an error that says it is the certificate and
//! shows no URL; with `insecure_skip_verify` it connects and reads.

mod cluster_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::{connect, read_window, Backend, BackendConfig, BackendError, Engine};
use logwarden::backend::{TlsConfig, WindowRequest};
use logwarden::source::FieldsConfig;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A key pair on P-256 (fast to make, and every TLS stack takes it).
fn new_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn name(cn: &str) -> X509Name {
    let mut n = X509Name::builder().unwrap();
    n.append_entry_by_nid(Nid::ORGANIZATIONNAME, "logwarden tests")
        .unwrap();
    n.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    n.build()
}

fn serial() -> openssl::asn1::Asn1Integer {
    let mut bn = BigNum::new().unwrap();
    bn.rand(120, MsbOption::MAYBE_ZERO, false).unwrap();
    bn.to_asn1_integer().unwrap()
}

/// A self-signed CA valid from yesterday to tomorrow.
struct Ca {
    cert: X509,
    key: PKey<Private>,
}

impl Ca {
    fn new(cn: &str) -> Ca {
        let key = new_key();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial()).unwrap();
        b.set_subject_name(&name(cn)).unwrap();
        b.set_issuer_name(&name(cn)).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .unwrap();
        b.append_extension(ski).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        Ca {
            cert: b.build(),
            key,
        }
    }

    /// A server certificate for the names in `san` (e.g. `IP:127.0.0.1`), signed by this CA.
    fn server_identity(&self, san: &[&str]) -> native_tls::Identity {
        let key = new_key();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial()).unwrap();
        b.set_subject_name(&name("logwarden test cluster")).unwrap();
        b.set_issuer_name(self.cert.subject_name()).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
            .unwrap();
        let mut alt = SubjectAlternativeName::new();
        for s in san {
            match s.split_once(':') {
                Some(("IP", ip)) => alt.ip(ip),
                Some(("DNS", dns)) => alt.dns(dns),
                _ => panic!("bad SAN {s}"),
            };
        }
        let ctx = b.x509v3_context(Some(&self.cert), None);
        let alt = alt.build(&ctx).unwrap();
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&ctx)
            .unwrap();
        b.append_extension(alt).unwrap();
        b.append_extension(aki).unwrap();
        b.sign(&self.key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        native_tls::Identity::from_pkcs8(
            &cert.to_pem().unwrap(),
            &key.private_key_to_pem_pkcs8().unwrap(),
        )
        .unwrap()
    }

    /// Write the CA certificate as PEM into `dir` and return its path.
    fn write_pem(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, self.cert.to_pem().unwrap()).unwrap();
        path
    }
}

/// A TLS-terminating TCP proxy on 127.0.0.1 in front of a plain-HTTP cluster; stops when
/// dropped. Connections whose handshake fails (the client refusing the certificate) are
/// closed.
struct TlsProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsProxy {
    async fn start(identity: native_tls::Identity, upstream: String) -> TlsProxy {
        let acceptor = tokio_native_tls::TlsAcceptor::from(
            native_tls::TlsAcceptor::new(identity).expect("a TLS acceptor from the identity"),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsProxy { addr, task }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `host:port` of the plain-HTTP test cluster in `var`.
fn upstream(var: &str) -> String {
    let url = cluster_support::url(var);
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{var}={url}: the test clusters speak plain http"));
    rest.trim_end_matches('/').to_string()
}

fn config(url: &str, tls: TlsConfig) -> BackendConfig {
    let mut cfg = BackendConfig::for_url(url);
    cfg.tls = tls;
    cfg.request_timeout_secs = 30;
    cfg
}

fn with_ca(path: PathBuf) -> TlsConfig {
    TlsConfig {
        ca_file: Some(path),
        insecure_skip_verify: false,
    }
}

fn unverified() -> TlsConfig {
    TlsConfig {
        ca_file: None,
        insecure_skip_verify: true,
    }
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap()
}

/// Write 30 log documents through `b` (over TLS), read the window back, check it holds
/// exactly them, and delete the index.
async fn write_and_read_a_window(b: &dyn Backend, index: &str) {
    let docs: Vec<BulkDoc> = (0..30)
        .map(|i| BulkDoc {
            id: format!("doc-{i}"),
            source: json!({
                "@timestamp": (t0() + Duration::seconds(i + 1)).to_rfc3339(),
                "message": format!("payment {i} settled in {}ms", 10 + i),
                "service": {"name": "billing"},
                "log": {"level": "info"}
            })
            .to_string(),
        })
        .collect();
    b.delete_index(index).await.unwrap();
    let report = write_docs(b, index, docs, &b.config().bulk)
        .await
        .expect("bulk over TLS");
    assert_eq!(report.written, 30, "{report:?}");
    b.refresh(index).await.unwrap();
    let req = WindowRequest {
        index: index.to_string(),
        start: t0(),
        end: t0() + Duration::seconds(20),
        filter: None,
        fields: FieldsConfig::default(),
    };
    let mut reader = read_window(b, req).await.expect("point in time over TLS");
    let records = reader.collect().await.expect("search over TLS");
    reader.close().await.unwrap();
    let messages: Vec<&str> = records.iter().map(|r| r.record.message.as_str()).collect();
    let expected: Vec<String> = (0..20)
        .map(|i| format!("payment {i} settled in {}ms", 10 + i))
        .collect();
    assert_eq!(messages, expected, "the window (t0, t0+20s] over TLS");
    assert!(records.iter().all(|r| r.record.service == "billing"));
    b.delete_index(index).await.unwrap();
}

/// Connecting must fail on the certificate: the message says so, and shows no URL.
fn assert_certificate_error(result: Result<Box<dyn Backend>, BackendError>, proxy: &TlsProxy) {
    let err = match result {
        Ok(b) => panic!("connected to {} unverified: {:?}", proxy.url(), b.info()),
        Err(e) => e,
    };
    let msg = err.to_string();
    let lower = msg.to_lowercase();
    assert!(
        lower.contains("tls") && lower.contains("certificate"),
        "the error names neither TLS nor the certificate: {msg}"
    );
    assert!(
        !msg.contains("://") && !msg.contains(&proxy.addr.port().to_string()),
        "the error shows the URL: {msg}"
    );
    assert!(
        matches!(
            err,
            BackendError::Transport {
                op: "engine detection",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn elasticsearch_over_tls_with_the_ca_file_reads_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("logwarden test CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["IP:127.0.0.1", "DNS:localhost"]),
        upstream("LOGWARDEN_TEST_ES_URL"),
    )
    .await;
    let cfg = config(&proxy.url(), with_ca(ca.write_pem(dir.path(), "ca.pem")));
    let b = connect(&cfg)
        .await
        .unwrap_or_else(|e| panic!("connect with tls.ca_file: {e}"));
    assert_eq!(b.info().engine, Engine::Elasticsearch);
    write_and_read_a_window(b.as_ref(), &format!("lw-tls-es-{}", run_id())).await;
}

#[tokio::test]
async fn opensearch_over_tls_with_the_ca_file_reads_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("logwarden test CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["IP:127.0.0.1"]),
        upstream("LOGWARDEN_TEST_OS_URL"),
    )
    .await;
    let cfg = config(&proxy.url(), with_ca(ca.write_pem(dir.path(), "ca.pem")));
    let b = connect(&cfg)
        .await
        .unwrap_or_else(|e| panic!("connect with tls.ca_file: {e}"));
    assert_eq!(b.info().engine, Engine::Opensearch);
    write_and_read_a_window(b.as_ref(), &format!("lw-tls-os-{}", run_id())).await;
}

#[tokio::test]
async fn without_the_ca_the_certificate_is_refused_with_a_clear_error() {
    let ca = Ca::new("logwarden test CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["IP:127.0.0.1"]),
        upstream("LOGWARDEN_TEST_ES_URL"),
    )
    .await;
    let cfg = config(&proxy.url(), TlsConfig::default());
    assert_certificate_error(connect(&cfg).await, &proxy);
}

#[tokio::test]
async fn a_ca_that_did_not_sign_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("logwarden test CA");
    let other = Ca::new("some other CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["IP:127.0.0.1"]),
        upstream("LOGWARDEN_TEST_ES_URL"),
    )
    .await;
    let cfg = config(
        &proxy.url(),
        with_ca(other.write_pem(dir.path(), "other.pem")),
    );
    assert_certificate_error(connect(&cfg).await, &proxy);
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_even_with_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("logwarden test CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["DNS:es.internal.example"]),
        upstream("LOGWARDEN_TEST_ES_URL"),
    )
    .await;
    let cfg = config(&proxy.url(), with_ca(ca.write_pem(dir.path(), "ca.pem")));
    assert_certificate_error(connect(&cfg).await, &proxy);
}

#[tokio::test]
async fn insecure_skip_verify_accepts_an_unknown_certificate() {
    let ca = Ca::new("logwarden test CA");
    let proxy = TlsProxy::start(
        ca.server_identity(&["DNS:es.internal.example"]),
        upstream("LOGWARDEN_TEST_ES_URL"),
    )
    .await;
    let b = connect(&config(&proxy.url(), unverified()))
        .await
        .unwrap_or_else(|e| panic!("connect with insecure_skip_verify: {e}"));
    assert_eq!(b.info().engine, Engine::Elasticsearch);
    write_and_read_a_window(b.as_ref(), &format!("lw-tls-insecure-{}", run_id())).await;
}

#[tokio::test]
async fn a_ca_file_that_is_not_pem_is_a_config_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let cfg = config("https://127.0.0.1:9", with_ca(path));
    let err = connect(&cfg).await.err().expect("a CA file without PEM");
    assert!(matches!(err, BackendError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("`tls.ca_file`"), "{err}");
    let missing = config(
        "https://127.0.0.1:9",
        with_ca(dir.path().join("missing.pem")),
    );
    let err = connect(&missing).await.err().expect("a missing CA file");
    assert!(
        err.to_string().contains("cannot read `tls.ca_file`"),
        "{err}"
    );
}
