//! Patterns end to end: templates → TF-IDF vectors → HDBSCAN patterns → scores and assignment.

use logwarden::cluster::{Distances, PatternModel, PatternsConfig};
use logwarden::model::{PatternId, TemplateId};
use logwarden::vectorize::VectorizeConfig;

const LOGIN: [&str; 6] = [
    "User <*> logged in from <*>",
    "User <*> logged in from <*> via SSO",
    "User <*> logged in from <*> with password",
    "User <*> logged in from <*> using token <*>",
    "User <*> logged in from <*> after <*> attempts",
    "User <*> logged in from <*> on device <*>",
];
const DISK: [&str; 6] = [
    "Disk full on volume <*>",
    "Disk nearly full on volume <*>: <*> used",
    "Disk full on volume <*> of node <*>",
    "Disk full on volume <*> during compaction",
    "Disk full on volume <*> while writing segment <*>",
    "Disk full on volume <*>, evicting cache",
];
const HTTP: [&str; 6] = [
    "GET <*> returned status <*> in <*> ms",
    "POST <*> returned status <*> in <*> ms",
    "PUT <*> returned status <*> in <*> ms",
    "DELETE <*> returned status <*> in <*> ms",
    "GET <*> returned status <*> in <*> ms from cache",
    "PATCH <*> returned status <*> in <*> ms",
];
const POOL: [&str; 6] = [
    "Database connection pool exhausted: <*> waiting",
    "Database connection pool exhausted after <*> ms",
    "Database connection pool exhausted for shard <*>",
    "Database connection pool exhausted, <*> active connections",
    "Database connection pool exhausted on replica <*>",
    "Database connection pool exhausted, rejecting query <*>",
];

fn input<'a>(families: &[&[&'a str]]) -> Vec<(TemplateId, &'a str, u64)> {
    families
        .iter()
        .flat_map(|f| f.iter())
        .enumerate()
        .map(|(i, s)| (TemplateId::of(s), *s, 10 + i as u64))
        .collect()
}

fn fit(templates: &[(TemplateId, &str, u64)]) -> PatternModel {
    PatternModel::fit(
        templates,
        &VectorizeConfig::default(),
        &PatternsConfig::default(),
    )
}

fn four_families() -> PatternModel {
    fit(&input(&[&LOGIN, &DISK, &HTTP, &POOL]))
}

fn family_pattern(m: &PatternModel, family: &[&str]) -> PatternId {
    let p = m.pattern_of(TemplateId::of(family[0]));
    for s in family {
        assert_eq!(m.pattern_of(TemplateId::of(s)), p, "{s}");
    }
    p.unwrap_or_else(|| panic!("no pattern for {}", family[0]))
}

#[test]
fn families_end_in_their_own_patterns() {
    let m = four_families();
    assert_eq!(m.len(), 4);
    let ps: Vec<PatternId> = [&LOGIN[..], &DISK, &HTTP, &POOL]
        .iter()
        .map(|f| family_pattern(&m, f))
        .collect();
    let mut distinct = ps.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{ps:?}");
    // The id is the smallest member template id.
    let login_min = LOGIN.iter().map(|s| TemplateId::of(s)).min().unwrap();
    assert_eq!(ps[0], PatternId(login_min.0));
    for s in LOGIN.iter().chain(&DISK).chain(&HTTP).chain(&POOL) {
        let score = m.outlier_score(TemplateId::of(s));
        assert!(score < 0.5, "{s}: {score}");
    }
}

#[test]
fn projected_distances_find_the_same_families() {
    let cfg = PatternsConfig {
        distances: Distances::Projected,
        ..PatternsConfig::default()
    };
    let projected = PatternModel::fit(
        &input(&[&LOGIN, &DISK, &HTTP, &POOL]),
        &VectorizeConfig::default(),
        &cfg,
    );
    let exact = four_families();
    assert_eq!(projected.patterns(), exact.patterns());
}

#[test]
fn an_unrelated_new_template_fits_no_pattern_and_scores_high() {
    let m = four_families();
    let a = m.assign("Kernel panic - not syncing: <*>");
    assert_eq!(a.pattern, None);
    assert_eq!(a.outlier_score, 1.0);
    assert_eq!(a.nearest, None);
    assert_eq!(a.similarity, 0.0);
}

#[test]
fn a_near_variant_joins_its_family() {
    let m = four_families();
    let login = family_pattern(&m, &LOGIN);
    let a = m.assign("User <*> logged in from <*> via Kerberos");
    assert_eq!(a.pattern, Some(login));
    assert!(a.outlier_score < 0.5, "{a:?}");
    assert!(a.similarity > 0.6, "{a:?}");
    let nearest = a.nearest.unwrap();
    assert!(LOGIN.iter().any(|s| TemplateId::of(s) == nearest));

    let disk = family_pattern(&m, &DISK);
    let b = m.assign("Disk full on volume <*> of cluster <*>");
    assert_eq!(b.pattern, Some(disk), "{b:?}");
}

#[test]
fn a_related_but_different_message_is_told_apart_from_a_variant() {
    let m = four_families();
    let variant = m.assign("User <*> logged in from <*> via Kerberos");
    let logout = m.assign("User <*> logged out");
    let disk = m.assign("Disk full on <*>");
    // Logged out shares words with the login family but is not one of its variants.
    assert_eq!(logout.pattern, None, "{logout:?}");
    assert!(logout.outlier_score >= 0.5);
    assert!(
        logout.similarity > 0.2 && logout.similarity < variant.similarity - 0.2,
        "{logout:?} vs {variant:?}"
    );
    let nearest = logout.nearest.unwrap();
    assert!(LOGIN.iter().any(|s| TemplateId::of(s) == nearest));
    // "Disk full on <*>" is the disk family's message with words left out.
    assert_eq!(disk.pattern, m.pattern_of(TemplateId::of(DISK[0])));
}

#[test]
fn a_lone_template_among_families_is_noise_with_a_high_score() {
    let lone = ["Certificate for <*> expires in <*> days"];
    let m = fit(&input(&[&LOGIN, &DISK, &HTTP, &lone]));
    let id = TemplateId::of(lone[0]);
    assert!(m.contains(id));
    assert_eq!(m.pattern_of(id), None);
    assert!(m.outlier_score(id) >= 0.5, "{}", m.outlier_score(id));
    assert_eq!(m.len(), 3);
}

#[test]
fn ids_are_stable_across_input_order() {
    let a = fit(&input(&[&LOGIN, &DISK, &HTTP, &POOL]));
    let mut rev = input(&[&LOGIN, &DISK, &HTTP, &POOL]);
    rev.reverse();
    // Interleave too, so no family arrives contiguously.
    let mut mixed: Vec<_> = rev.iter().step_by(2).copied().collect();
    mixed.extend(rev.iter().skip(1).step_by(2).copied());
    for other in [fit(&rev), fit(&mixed)] {
        assert_eq!(a.patterns(), other.patterns());
        for s in LOGIN.iter().chain(&DISK).chain(&HTTP).chain(&POOL) {
            let id = TemplateId::of(s);
            assert_eq!(a.pattern_of(id), other.pattern_of(id));
            assert_eq!(a.outlier_score(id), other.outlier_score(id));
        }
    }
}

#[test]
fn serde_round_trip_keeps_every_answer() {
    let m = four_families();
    let json = serde_json::to_string(&m).unwrap();
    let back: PatternModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back.patterns(), m.patterns());
    for s in LOGIN.iter().chain(&DISK).chain(&HTTP).chain(&POOL) {
        let id = TemplateId::of(s);
        assert_eq!(back.pattern_of(id), m.pattern_of(id));
        assert_eq!(back.outlier_score(id), m.outlier_score(id));
    }
    for q in [
        "User <*> logged in from <*> via Kerberos",
        "User <*> logged out",
        "Kernel panic - not syncing: <*>",
    ] {
        assert_eq!(back.assign(q), m.assign(q), "{q}");
    }
    // Compact: the model is small next to the templates it stands for.
    assert!(json.len() < 8_000, "{}", json.len());
}

#[test]
fn empty_input_gives_an_empty_model() {
    let m = fit(&[]);
    assert!(m.is_empty());
    assert_eq!(m.templates_len(), 0);
    assert_eq!(m.pattern_of(TemplateId(1)), None);
    assert_eq!(m.outlier_score(TemplateId(1)), 1.0);
    let a = m.assign("User <*> logged in");
    assert_eq!((a.pattern, a.nearest, a.outlier_score), (None, None, 1.0));
    let back: PatternModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert!(back.is_empty());
}

#[test]
fn one_template_is_known_but_forms_no_pattern() {
    let text = "Service <*> started in <*> ms";
    let m = fit(&[(TemplateId::of(text), text, 5)]);
    assert!(m.is_empty());
    assert_eq!(m.pattern_of(TemplateId::of(text)), None);
    let a = m.assign("Service <*> started in <*> ms after restart");
    assert_eq!(a.nearest, Some(TemplateId::of(text)));
    assert!(a.similarity > 0.5 && a.similarity < 1.0, "{a:?}");
    assert_eq!(a.pattern, None);
}

#[test]
fn identical_vectors_do_not_break_clustering() {
    // Different texts, same tokens: every vector is the same.
    let texts: Vec<String> = (0..30)
        .map(|i| {
            format!(
                "retry{} <*> connection {}reset",
                "<*> ".repeat(i % 5),
                "<*> ".repeat(i / 5)
            )
        })
        .collect();
    let templates: Vec<(TemplateId, &str, u64)> = texts
        .iter()
        .map(|s| (TemplateId::of(s), s.as_str(), 3))
        .collect();
    for single in [false, true] {
        let cfg = PatternsConfig {
            allow_single_cluster: single,
            ..PatternsConfig::default()
        };
        let m = PatternModel::fit(&templates, &VectorizeConfig::default(), &cfg);
        assert_eq!(m.templates_len(), 30);
        let a = m.assign("retry <*> connection reset");
        assert!((a.similarity - 1.0).abs() < 1e-5, "{a:?}");
        if single {
            // One pattern holding all thirty, which the new text joins.
            let ps = m.patterns();
            assert_eq!(ps.len(), 1);
            assert_eq!(ps[0].members.len(), 30);
            assert_eq!(a.pattern, Some(ps[0].id));
            assert_eq!(a.outlier_score, 0.0);
        } else {
            // Without a split there is no cluster to select: all noise, no panic.
            assert!(m.is_empty());
            assert_eq!(a.pattern, None);
        }
    }
    // Templates with no token at all are known, never clustered, and score 1.
    let blank = ["<*>", "<*> <*>", "<*>: <*>"];
    let m = fit(&blank.map(|s| (TemplateId::of(s), s, 1)));
    assert!(m.is_empty());
    assert_eq!(m.outlier_score(TemplateId::of("<*>")), 1.0);
    assert_eq!(m.assign("<*> <*> <*>").nearest, None);
}

#[test]
fn templates_outside_the_sample_are_assigned_to_their_family() {
    // 8 families × 40 templates, clustered from a sample of 80.
    let subjects = [
        "payment <*> authorised for merchant <*>",
        "cache miss for key <*> in region <*>",
        "kafka consumer group <*> rebalanced partitions <*>",
        "tls handshake with <*> failed: certificate expired",
        "scheduler queued job <*> on worker <*>",
        "email delivery to <*> deferred by smtp relay",
        "thumbnail render of image <*> took <*> ms",
        "ldap bind as <*> rejected invalid credentials",
    ];
    let tails = [
        "",
        " (retry <*>)",
        " on attempt <*>",
        " for tenant <*>",
        " in zone <*>",
        " shard <*>",
        " trace <*>",
        " pod <*>",
    ];
    let extra = ["", " quickly", " again", " eventually", " twice"];
    let mut texts = Vec::new();
    for s in subjects {
        for t in tails {
            for e in extra {
                texts.push(format!("{s}{t}{e}"));
            }
        }
    }
    let templates: Vec<(TemplateId, &str, u64)> = texts
        .iter()
        .map(|s| (TemplateId::of(s), s.as_str(), 1))
        .collect();
    let cfg = PatternsConfig {
        sample_size: 80,
        ..PatternsConfig::default()
    };
    let m = PatternModel::fit(&templates, &VectorizeConfig::default(), &cfg);
    assert_eq!(m.templates_len(), 320);
    assert_eq!(
        m.len(),
        8,
        "{:?}",
        m.patterns()
            .iter()
            .map(|p| p.members.len())
            .collect::<Vec<_>>()
    );
    for (f, chunk) in texts.chunks(40).enumerate() {
        let first = m.pattern_of(TemplateId::of(&chunk[0]));
        assert!(first.is_some(), "family {f}");
        let same = chunk
            .iter()
            .filter(|s| m.pattern_of(TemplateId::of(s)) == first)
            .count();
        assert_eq!(same, 40, "family {f}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any templates fit without panicking; scores stay in 0-1; members and pattern_of agree.
    #[test]
    fn any_templates_fit_and_answer_within_bounds(
        texts in proptest::collection::vec("[a-z <*>:]{0,30}", 0..40),
        query in "[a-zA-Z <*>:]{0,30}",
    ) {
        let input: Vec<(TemplateId, &str, u64)> = texts
            .iter()
            .enumerate()
            .map(|(i, s)| (TemplateId::of(s), s.as_str(), i as u64))
            .collect();
        let m = fit(&input);
        for s in &texts {
            let score = m.outlier_score(TemplateId::of(s));
            proptest::prop_assert!((0.0..=1.0).contains(&score));
        }
        for p in m.patterns() {
            for id in &p.members {
                proptest::prop_assert_eq!(m.pattern_of(*id), Some(p.id));
            }
        }
        // The same templates in another order give the same model.
        let mut reversed = input.clone();
        reversed.reverse();
        let r = fit(&reversed);
        proptest::prop_assert_eq!(r.patterns(), m.patterns());
        for s in &texts {
            let id = TemplateId::of(s);
            proptest::prop_assert_eq!(r.outlier_score(id), m.outlier_score(id));
        }
        let a = m.assign(&query);
        proptest::prop_assert_eq!(r.assign(&query), a.clone());
        proptest::prop_assert!((0.0..=1.0).contains(&a.outlier_score));
        proptest::prop_assert!((0.0..=1.0).contains(&a.similarity));
        proptest::prop_assert_eq!(a.nearest.is_none(), a.similarity == 0.0);
    }
}

/// Templates in the style of the Loghub OpenSSH and HDFS sets.
const LOGHUB: [&str; 35] = [
    "Failed password for <*> from <*> port <*> ssh2",
    "Failed password for invalid user <*> from <*> port <*> ssh2",
    "Failed none for invalid user <*> from <*> port <*> ssh2",
    "Failed password for root from <*> port <*> ssh2",
    "message repeated <*> times: [ Failed password for root from <*> port <*> ssh2]",
    "Accepted password for <*> from <*> port <*> ssh2",
    "Accepted publickey for <*> from <*> port <*> ssh2",
    "Invalid user <*> from <*>",
    "input_userauth_request: invalid user <*> [preauth]",
    "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
    "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>",
    "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
    "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>",
    "pam_unix(sshd:auth): check pass; user unknown",
    "PAM service(sshd) ignoring max retries; <*> > <*>",
    "Received disconnect from <*>: <*>: Bye Bye [preauth]",
    "Received disconnect from <*>: <*>: Closed due to user request. [preauth]",
    "Connection closed by <*> [preauth]",
    "Did not receive identification string from <*>",
    "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!",
    "Address <*> maps to <*>, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
    "error: Received disconnect from <*>: <*>: No more user authentication methods available. [preauth]",
    "Disconnecting: Too many authentication failures for <*> [preauth]",
    "pam_unix(sshd:session): session opened for user <*> by (uid=<*>)",
    "pam_unix(sshd:session): session closed for user <*>",
    "BlockManager: Starting thread to transfer block <*> to <*>",
    "PacketResponder <*> for block <*> terminating",
    "Receiving block <*> src: <*> dest: <*>",
    "Received block <*> of size <*> from <*>",
    "BLOCK* NameSystem.addStoredBlock: blockMap updated: <*> is added to <*> size <*>",
    "BLOCK* NameSystem.allocateBlock: <*>. <*>",
    "Deleting block <*> file <*>",
    "Served block <*> to <*>",
    "Got exception while serving <*> to <*>:",
    "Verification succeeded for <*>",
];

#[test]
fn real_world_templates_get_graded_scores_and_sensible_assignments() {
    let input: Vec<_> = LOGHUB
        .iter()
        .map(|s| (TemplateId::of(s), *s, 5u64))
        .collect();
    let m = fit(&input);
    assert!(m.len() >= 2, "{:?}", m.patterns());
    let failed = m.pattern_of(TemplateId::of(
        "Failed password for <*> from <*> port <*> ssh2",
    ));
    assert!(failed.is_some());
    for s in [
        "Failed password for invalid user <*> from <*> port <*> ssh2",
        "Accepted password for <*> from <*> port <*> ssh2",
    ] {
        assert_eq!(m.pattern_of(TemplateId::of(s)), failed, "{s}");
    }
    // Scores are leave-one-out: members are graded, not all zero, and noise is at 0.5 or above.
    let scores: Vec<(f64, bool)> = LOGHUB
        .iter()
        .map(|s| {
            let id = TemplateId::of(s);
            (m.outlier_score(id), m.pattern_of(id).is_some())
        })
        .collect();
    assert!(scores
        .iter()
        .any(|&(sc, member)| member && sc > 0.1 && sc < 0.5));
    assert!(scores.iter().all(|&(sc, member)| member || sc >= 0.5));
    let variant = m.assign("Failed password for invalid user <*> from <*> port <*>");
    assert_eq!(variant.pattern, failed);
    assert!(variant.outlier_score < 0.2, "{variant:?}");
    let oom = m.assign("Out of memory: Kill process <*> (java)");
    assert_eq!(oom.pattern, None);
    assert!(oom.outlier_score > 0.6 && oom.similarity < 0.3, "{oom:?}");
}

#[test]
fn config_sections_load_from_yaml_and_the_environment_with_key_names_in_errors() {
    use logwarden::config::{Config, ConfigError};
    let cfg = Config::from_yaml(
        "vectorize:\n  dims: 32\n  stemmer: false\n  stop_words: [the]\npatterns:\n  distances: projected\n  min_cluster_size: 3\n",
    )
    .unwrap();
    assert_eq!(cfg.vectorize.dims, 32);
    assert!(!cfg.vectorize.stemmer);
    assert_eq!(cfg.patterns.distances, Distances::Projected);
    assert_eq!(cfg.patterns.min_cluster_size, 3);
    assert_eq!(
        cfg.patterns.sample_size,
        PatternsConfig::default().sample_size
    );

    match Config::from_yaml("patterns:\n  min_cluster_size: 1\n  exemplars: 0\n") {
        Err(ConfigError::Invalid(problems)) => {
            let all = problems.join("\n");
            assert!(all.contains("`patterns.min_cluster_size`"), "{all}");
            assert!(all.contains("`patterns.exemplars`"), "{all}");
        }
        other => panic!("expected invalid config, got {other:?}"),
    }
    match Config::from_yaml("vectorize:\n  dimz: 32\n") {
        Err(ConfigError::Key { key, .. }) => assert!(key.contains("vectorize"), "{key}"),
        other => panic!("expected an unknown key error, got {other:?}"),
    }
    let env = [(
        "LOGWARDEN__PATTERNS__ASSIGN_MIN_SIMILARITY".to_string(),
        "0.8".to_string(),
    )];
    let cfg = Config::load_with_env(None, env).unwrap();
    assert_eq!(cfg.patterns.assign_min_similarity, 0.8);
}
