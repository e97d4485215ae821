//! Tests of the miner through its public API.

use super::*;

fn miner() -> TemplateMiner {
    TemplateMiner::new(ParseConfig::default())
}

fn text(m: &TemplateMiner, id: TemplateId) -> String {
    m.template(m.resolve(id)).unwrap().to_string()
}

/// Learn `line` and return the text of the template it went to.
fn learnt(m: &mut TemplateMiner, line: &str) -> String {
    let id = m.add(line).template_id;
    m.template(id).unwrap().to_string()
}

#[test]
fn ids_are_derived_from_the_template_text() {
    let mut a = miner();
    let mut b = miner();
    let pa = a.add("Connection from 10.0.0.1 closed after 250ms");
    b.add("unrelated first line");
    let pb = b.add("Connection from 10.0.0.2 closed after 17ms");
    assert_eq!(pa.template_id, pb.template_id);
    assert_eq!(
        pa.template_id,
        TemplateId::of("Connection from <*> closed after <*>")
    );
    assert_eq!(
        a.template(pa.template_id),
        Some("Connection from <*> closed after <*>")
    );
}

#[test]
fn generalising_forwards_old_ids_in_chains() {
    let mut m = miner();
    let first = m
        .add("session opened for alice from web using ssh")
        .template_id;
    assert_eq!(
        m.template(first),
        Some("session opened for alice from web using ssh")
    );
    // A second and a third word at a position are variants, not yet a variable: a word with
    // two or three values is usually part of what happened.
    let second = m
        .add("session opened for bob from web using ssh")
        .template_id;
    assert_eq!(
        m.template(second),
        Some("session opened for bob from web using ssh")
    );
    assert_ne!(m.resolve(first), m.resolve(second));
    m.add("session opened for carol from vpn using ssh");
    // The fourth distinct user makes the position a variable: the variants merge.
    let fourth = m
        .add("session opened for dave from web using ssh")
        .template_id;
    assert_eq!(
        m.template(fourth),
        Some("session opened for <*> from web using ssh")
    );
    assert_eq!(m.resolve(first), fourth);
    assert_eq!(m.resolve(second), fourth);
    // `vpn` is still a word of its own there, carol's line a variant with `<*>` for the user.
    let vpn = m
        .add("session opened for erin from vpn using ssh")
        .template_id;
    assert_eq!(
        m.template(vpn),
        Some("session opened for <*> from vpn using ssh")
    );
    for host in ["lan", "wifi"] {
        m.add(&format!("session opened for frank from {host} using ssh"));
    }
    let last = m.resolve(vpn);
    assert_eq!(
        m.template(last),
        Some("session opened for <*> from <*> using ssh")
    );
    assert_eq!(m.resolve(first), last);
    assert_eq!(m.resolve(fourth), last);
    // Old ids keep their text.
    assert_eq!(
        m.template(first),
        Some("session opened for alice from web using ssh")
    );
    let live: Vec<_> = m.templates().into_iter().map(|t| (t.1, t.2)).collect();
    assert_eq!(live, vec![("session opened for <*> from <*> using ssh", 7)]);
}

#[test]
fn the_same_message_lands_in_the_same_template() {
    let mut m = miner();
    let lines = [
        "Starting task 3 of stage 1",
        "Finished task 3 of stage 1 in 20 ms",
        "Lost executor 7 on host-1",
        "Starting task 4 of stage 1",
    ];
    let first: Vec<_> = lines.iter().map(|l| m.add(l).template_id).collect();
    for _ in 0..3 {
        for (l, id) in lines.iter().zip(&first) {
            let again = m.add(l).template_id;
            assert_eq!(m.resolve(again), m.resolve(*id), "{l}");
        }
    }
    assert_eq!(m.templates().len(), 3);
}

#[test]
fn different_events_stay_apart() {
    let mut m = miner();
    let a = m.add("Receiving block blk_1 src: /10.0.0.1:5 dest: /10.0.0.2:6");
    let b = m.add("Deleting block blk_2 file /data/blk_2");
    let c = m.add("Receiving block blk_3 src: /10.0.0.3:5 dest: /10.0.0.4:6");
    assert_ne!(m.resolve(a.template_id), m.resolve(b.template_id));
    assert_eq!(m.resolve(a.template_id), m.resolve(c.template_id));
    assert_eq!(
        text(&m, a.template_id),
        "Receiving block <*> src: <*> dest: <*>"
    );
}

#[test]
fn params_carry_numeric_values_by_slot() {
    let mut m = miner();
    let p = m.add("request GET alice /api took 250ms status=200 size=1.5KB");
    assert_eq!(
        m.template(p.template_id),
        Some("request GET alice <*> took <*> status=<*> size=<*>")
    );
    let slots: Vec<_> = p.params.iter().map(|x| (x.slot, x.value)).collect();
    assert_eq!(slots, vec![(1, 250.0), (2, 200.0), (3, 1.5)]);
    // After a word becomes a variable (the fourth user) the slots count it.
    for user in ["bob", "dave", "erin"] {
        m.add(&format!(
            "request GET {user} /b took 12ms status=201 size=3KB"
        ));
    }
    let p = m
        .match_message("request GET carol /x took 7ms status=500 size=1KB")
        .unwrap();
    assert_eq!(
        m.template(p.template_id),
        Some("request GET <*> <*> took <*> status=<*> size=<*>")
    );
    let slots: Vec<_> = p.params.iter().map(|x| (x.slot, x.value)).collect();
    assert_eq!(slots, vec![(2, 7.0), (3, 500.0), (4, 1.0)]);
}

#[test]
fn slot_names_come_from_context() {
    let mut m = miner();
    let id = m
        .add("request took 250 ms latency=12ms queue: 5 with 3 retries 0xff")
        .template_id;
    assert_eq!(
        m.template(id),
        Some("request took <*> ms latency=<*> queue: <*> with <*> retries <*>")
    );
    let names: Vec<_> = (0..5).map(|s| m.slot_name(id, s)).collect();
    assert_eq!(
        names,
        ["took_ms", "latency", "queue", "with_retries", "retries"]
    );
    assert_eq!(m.slot_name(id, 9), "slot9");
    let id = m.add("<*> <*> 42").template_id;
    assert_eq!(m.slot_name(id, 2), "slot2");
    let id = m.add("copied 5 files and 7 files").template_id;
    assert_eq!(m.slot_name(id, 0), "copied_files");
    assert_eq!(m.slot_name(id, 1), "and_files");
    let id = m.add("retry 1 of retry 2").template_id;
    assert_eq!(m.slot_name(id, 0), "retry_0");
    assert_eq!(m.slot_name(id, 1), "retry_1");
}

#[test]
fn match_message_does_not_learn() {
    let mut m = miner();
    assert_eq!(m.match_message("disk 3 full"), None);
    let id = m.add("disk 3 full").template_id;
    let p = m.match_message("disk 9 full").unwrap();
    assert_eq!(p.template_id, id);
    assert_eq!(
        p.params,
        vec![Param {
            slot: 0,
            value: 9.0
        }]
    );
    assert_eq!(m.match_message("disk 9 empty"), None);
    assert_eq!(m.templates()[0].2, 1);
}

#[test]
fn serde_round_trip_keeps_ids_and_learning() {
    let mut m = miner();
    let old = m.add("worker alpha started in 3s").template_id;
    m.add("worker beta started in 4s");
    let json = serde_json::to_string(&m).unwrap();
    let mut back: TemplateMiner = serde_json::from_str(&json).unwrap();
    assert_eq!(back.templates(), m.templates());
    assert_eq!(back.resolve(old), m.resolve(old));
    assert_eq!(back.template(old), Some("worker alpha started in <*>"));
    let a = m.add("worker gamma started in 5s");
    let b = back.add("worker gamma started in 5s");
    assert_eq!(a, b);
}

#[test]
fn corrupt_state_is_an_error_not_a_panic() {
    let mut m = miner();
    m.add("a b c 1");
    let json = serde_json::to_string(&m).unwrap();
    let bad = json.replacen("\"tokens\":[", "\"tokens\":[999999,", 1);
    let err = serde_json::from_str::<TemplateMiner>(&bad).unwrap_err();
    assert!(err.to_string().contains("inconsistent"), "{err}");
}

#[test]
fn weird_input_never_panics() {
    let mut m = miner();
    let empty = m.add("");
    assert_eq!(m.template(empty.template_id), Some(""));
    assert_eq!(m.add("   \t ").template_id, empty.template_id);
    let p = m.add("ctrl \u{0}\u{7}\u{1b}[31m 12 \u{7f}");
    assert_eq!(
        m.template(p.template_id),
        Some("ctrl \u{0}\u{7}\u{1b}[<*> <*> \u{7f}")
    );
    let p = m.add("unicode ünïcødé 日本語 ✓ 42µs");
    assert_eq!(
        m.template(p.template_id),
        Some("unicode ünïcødé 日本語 ✓ <*>")
    );
    assert_eq!(
        p.params,
        vec![Param {
            slot: 0,
            value: 42.0
        }]
    );
    let big = "word 123 ".repeat(120_000) + "é";
    assert!(big.len() > 1_000_000);
    let p = m.add(&big);
    let t = m.template(p.template_id).unwrap();
    assert_eq!(t.split(' ').count(), ParseConfig::default().max_tokens);
    // A cut inside a multi-byte character backs off to the boundary.
    let cfg = ParseConfig {
        max_message_bytes: 2,
        ..ParseConfig::default()
    };
    let mut small = TemplateMiner::new(cfg);
    let p = small.add("aé!");
    assert_eq!(small.template(p.template_id), Some("a"));
    assert_eq!(m.add("<*> <*>").params, vec![]);
}

#[test]
fn config_validation_names_the_key() {
    let mut p = crate::validate::Problems::default();
    ParseConfig::default().validate("parse", &mut p);
    assert!(p.0.is_empty(), "{:?}", p.0);
    let bad = ParseConfig {
        similarity: 1.5,
        max_tokens: 0,
        max_templates: 0,
        ..ParseConfig::default()
    };
    bad.validate("parse", &mut p);
    assert_eq!(p.0.len(), 3);
    assert!(p.0[0].contains("`parse.similarity`"), "{:?}", p.0);
    assert!(p.0[1].contains("`parse.max_tokens`"), "{:?}", p.0);
    assert!(p.0[2].contains("`parse.max_templates`"), "{:?}", p.0);
    let e = serde_json::from_str::<ParseConfig>(r#"{"simlarity": 0.3}"#).unwrap_err();
    assert!(e.to_string().contains("simlarity"));
}

#[test]
fn dates_with_month_and_weekday_names_are_one_variable() {
    let mut m = miner();
    let a = m.add("connection from 10.0.0.1 at Fri Jun 17 07:07:00 2005");
    let b = m.add("connection from 10.0.0.9 at Sat Jul 2 23:59:01 2005");
    assert_eq!(
        m.template(a.template_id),
        Some("connection from <*> at <*>")
    );
    assert_eq!(a.template_id, b.template_id);
    let d = m.add("[Sun Dec 04 04:47:44 2005] [notice] started");
    assert_eq!(m.template(d.template_id), Some("<*>] [notice] started"));
    // Not next to a variable, a month name is a word.
    let c = m.add("may the force be with you");
    assert_eq!(m.template(c.template_id), Some("may the force be with you"));
}

#[test]
fn shared_variables_do_not_dilute_similarity() {
    let mut m = miner();
    m.add("connection from 10.0.0.1 (host-1.example.com) at 12:00:01");
    let p = m.add("connection from 10.0.0.2 () at 12:00:02");
    assert_eq!(
        m.template(p.template_id),
        Some("connection from <*> (<*>) at <*>")
    );
    // Two words of three differ: a different event.
    let q = m.add("connection to 10.0.0.2 refused at 12:00:02");
    assert_ne!(m.resolve(p.template_id), m.resolve(q.template_id));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Messages from a small vocabulary of words, numbers, ids and punctuation, so that
    /// templates form, merge and generalise.
    fn message() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("open".to_string()),
            Just("closed".to_string()),
            Just("user".to_string()),
            Just("Jun".to_string()),
            Just("(x)".to_string()),
            Just("<*>".to_string()),
            "[a-c]{1,3}",
            "[0-9]{1,4}(ms)?",
            "blk_[0-9]{2}",
            "/[a-z]{1,3}/[a-z]{1,3}",
            "[a-z]{1,3}=[0-9]{1,2}",
            "\\PC{1,3}",
            // Routing words that merge, and quoted values with and without partners.
            "(alice|bob|carol|dave|erin)",
            "'[a-z]{1,3}( [a-z]{1,3}){0,2}'",
            "\"[a-z ]{0,5}",
            "[a-z]{0,3}'",
        ];
        prop::collection::vec(word, 0..8).prop_map(|w| w.join(" "))
    }

    /// Text of any kind: any characters, emoji, scripts other than Latin, quotes with and
    /// without partners, embedded JSON (compact and pretty), tabs and newlines.
    fn any_text() -> impl Strategy<Value = String> {
        let json = prop::collection::btree_map("[a-z ]{1,6}", "\\PC{0,8}", 0..4);
        let piece = prop_oneof![
            "\\PC{1,12}",
            "[😀🎉🚀✓🔥👩‍💻]{1,4}",
            "[日本語中文한국어Ελληνικάкириллицаעבריתالعربية]{1,8}",
            "['\"]{1,3}",
            "[a-z ]{0,6}['\"][a-z ]{0,6}",
            json.clone()
                .prop_map(|m| serde_json::to_string(&m).unwrap()),
            json.prop_map(|m| serde_json::to_string_pretty(&m).unwrap()),
            "[ \t\n]{1,3}",
            "[0-9]{1,5}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    /// Learns `msg`, then checks what must hold whatever the input.
    fn learn(m: &mut TemplateMiner, msg: &str) -> Result<(), TestCaseError> {
        let p = m.add(msg);
        let text = m.template(p.template_id).unwrap().to_string();
        let slots = text.matches("<*>").count();
        prop_assert!(
            p.params.iter().all(|x| x.slot < slots),
            "{msg:?} -> {text:?}"
        );
        let r = m.resolve(p.template_id);
        prop_assert!(m.templates().iter().any(|t| t.0 == r));
        // A message just learnt has a template that fits it.
        let again = m.match_message(msg);
        prop_assert!(again.is_some(), "{msg:?} -> {text:?}");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn ids_resolve_to_live_templates_and_params_fit(msgs in prop::collection::vec(message(), 1..60)) {
            let mut m = miner();
            let mut seen = Vec::new();
            for msg in &msgs {
                let p = m.add(msg);
                let text = m.template(p.template_id).unwrap().to_string();
                let slots = text.matches("<*>").count();
                prop_assert!(p.params.iter().all(|x| x.slot < slots), "{msg} -> {text} {:?}", p.params);
                seen.push(p.template_id);
            }
            let live: Vec<TemplateId> = m.templates().iter().map(|t| t.0).collect();
            for id in seen {
                let r = m.resolve(id);
                prop_assert_eq!(m.resolve(r), r);
                prop_assert!(live.contains(&r));
                prop_assert!(m.template(id).is_some());
            }
            let total: u64 = m.templates().iter().map(|t| t.2).sum();
            prop_assert_eq!(total, msgs.len() as u64);
        }

        #[test]
        fn any_text_is_mined_without_panics(msgs in prop::collection::vec(any_text(), 1..24)) {
            let mut m = miner();
            for msg in &msgs {
                learn(&mut m, msg)?;
            }
            for msg in &msgs {
                learn(&mut m, msg)?;
            }
        }

        #[test]
        fn masking_writes_one_value_per_variable(tok in "\\PC{0,24}") {
            let (mut out, mut vals) = (String::new(), Vec::new());
            if mask::mask_token(&tok, &mut out, &mut vals) {
                prop_assert_eq!(out.matches(mask::VAR).count(), vals.len());
            } else {
                prop_assert!(out.is_empty() && vals.is_empty());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Lines past the byte limit (64 KiB, cut at a character boundary) and the token
        /// limit, of repeated text with quotes that may open and never close.
        #[test]
        fn very_long_lines_are_mined_without_panics(
            piece in any_text(),
            times in 500usize..6000,
            tail in any_text(),
        ) {
            let mut m = miner();
            let long = format!("{} {tail}", piece.repeat(times));
            learn(&mut m, &long)?;
            learn(&mut m, &format!("x {long}"))?;
        }
    }
}

#[test]
fn runs_of_numbers_stay_apart_as_parameters() {
    let mut m = miner();
    let p = m.add("GET /api/items/42 200 33ms");
    assert_eq!(m.template(p.template_id), Some("GET <*> <*> <*>"));
    let slots: Vec<_> = p.params.iter().map(|x| (x.slot, x.value)).collect();
    assert_eq!(slots, vec![(1, 200.0), (2, 33.0)]);
    // Ids without values collapse, whatever their number.
    let a = m.add("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3");
    let b = m.add("ask 10.0.0.2:50010 to delete blk_4");
    assert_eq!(m.template(a.template_id), Some("ask <*> to delete <*>"));
    assert_eq!(a.template_id, b.template_id);
}

#[test]
fn a_list_of_variables_is_one_whatever_its_length() {
    let mut m = miner();
    let mut add = |line: &str| {
        let p = m.add(line);
        (m.template(p.template_id).unwrap().to_string(), p.params)
    };
    // A consumer's partitions, as Kafka logs them: one to four, one template.
    let (one, _) = add("Assigned partitions: [orders-3]");
    assert_eq!(one, "Assigned partitions: [<*>]");
    for line in [
        "Assigned partitions: [orders-0, orders-1, orders-2]",
        "Assigned partitions: [orders-4, orders-5]",
        "Assigned partitions: [payments-0, payments-1, payments-2, payments-3].",
    ] {
        let (text, _) = add(line);
        assert!(
            text.starts_with("Assigned partitions: [<*>]"),
            "{line}: {text}"
        );
    }
    // Numbers and quoted names too; the list's parameter is its first value.
    let (text, params) = add("Retrying with backoff [100, 200, 400] ms");
    assert_eq!(text, "Retrying with backoff [<*>] ms");
    assert_eq!(
        params.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![100.0]
    );
    let (text, _) = add("Loaded modules: ('os', 'sys', 're') in 3 ms");
    assert_eq!(text, "Loaded modules: (<*>) in <*> ms");
    // A set of words printed in hash order, as Elasticsearch logs a node's roles: any order
    // and any number from three, one template.
    let (roles, _) = add("node name [es-1], roles [data_cold, ingest, master, ml]");
    assert_eq!(roles, "node name [<*>], roles [<*>]");
    let (other, _) = add("node name [es-2], roles [ml, data_hot, transform].");
    assert_eq!(other, "node name [<*>], roles [<*>].");
    // A record's keys name its values, so it is not a list.
    let (record, params) = add("using rate limit [40mb] with [default=40mb, read=0b, write=0b]");
    assert_eq!(
        record,
        "using rate limit [<*>] with [default=<*>, read=<*>, write=<*>]"
    );
    assert_eq!(params.len(), 4);
    // A pair with a word is part of the shape, and an unclosed list too.
    let (text, _) = add("PM response took 3 ms (43, powerd)");
    assert_eq!(text, "PM response took <*> ms (<*>, powerd)");
    let (text, _) = add("queue holds [17, 18, 19");
    assert_eq!(text, "queue holds [<*>, <*>, <*>");
}

#[test]
fn fields_with_different_keys_stay_apart_however_many() {
    let mut m = miner();
    // Prometheus logs its start-up facts as one field each after the same three: five keys
    // are five facts, not five values of one (four words would otherwise make a variable).
    let keys = [
        "build_context",
        "host_details",
        "fd_limits",
        "vm_limits",
        "fs_type",
    ];
    let mut texts = std::collections::BTreeSet::new();
    for (i, key) in keys.iter().enumerate() {
        let line = format!(
            r#"ts=2026-12-07T19:07:50.{i}Z caller=main.go:55{i} level=info {key}="(soft=unlimited)""#
        );
        texts.insert(learnt(&mut m, &line));
    }
    let want: std::collections::BTreeSet<String> = keys
        .iter()
        .map(|k| format!("ts=<*> caller=main.go:<*> level=info {k}=<*>"))
        .collect();
    assert_eq!(texts, want);
    // One key with four values is one field with a variable, and the variable keeps its key.
    for user in ["alice", "bob", "carol", "dave"] {
        m.add(&format!("session opened for user={user} by sshd"));
    }
    let id = m.add("session opened for user=erin by sshd").template_id;
    assert_eq!(m.template(id), Some("session opened for user=<*> by sshd"));
    assert_eq!(m.slot_name(id, 0), "user");
}

#[test]
fn what_happened_to_a_thing_stays_apart_however_many_steps() {
    let mut m = miner();
    // OpenSearch logs a node's life as one word after the same header: a node that stopped
    // is not a node that started, though four such words would otherwise make a variable.
    let mut texts = Vec::new();
    for round in 0..3 {
        for step in ["initialized", "started", "stopped", "closed"] {
            let line = format!("[2026-12-07T21:0{round}:00,000][INFO ][o.o.n.Node ] [os-1] {step}");
            texts.push(learnt(&mut m, &line));
        }
    }
    let last: Vec<&str> = texts[8..]
        .iter()
        .map(|t| t.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(last, ["initialized", "started", "stopped", "closed"]);
    // A participle may start with a capital (OpenStack's lifecycle events).
    let mut os = miner();
    let mut events = Vec::new();
    for vm in 0..3 {
        for step in ["Started", "Paused", "Resumed", "Stopped"] {
            let line =
                format!("[instance: 0b9c5e7a-fe1a-409b-b8cc-{vm:012}] VM {step} (Lifecycle Event)");
            events.push(learnt(&mut os, &line));
        }
    }
    assert_eq!(
        events[8..],
        ["Started", "Paused", "Resumed", "Stopped"]
            .map(|step| format!("[instance: <*>] VM {step} (Lifecycle Event)"))
    );
    // Names in the same place are values all the same.
    for name in ["alpha", "bravo", "charlie", "delta"] {
        m.add(&format!(
            "[2026-12-07T21:00:00,000][INFO ][o.o.n.Node ] [os-1] {name}"
        ));
    }
    let id = m
        .add("[2026-12-07T21:00:00,000][INFO ][o.o.n.Node ] [os-1] echo")
        .template_id;
    assert!(
        m.template(id).unwrap().ends_with("<*>"),
        "{:?}",
        m.template(id)
    );
}

#[test]
fn a_message_of_one_word_and_a_name_takes_names_from_the_eighth() {
    // `npm pack` lists each bundled package as `notice <name>`, with or without a masked
    // prefix; the name is the routing word of the short form and past it in the long one.
    let names = [
        "abbrev",
        "chalk",
        "agent-base",
        "semver",
        "tar",
        "ssri",
        "minipass",
        "which",
    ];
    for prefix in ["", "1102 "] {
        let mut m = miner();
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for name in names {
            let p = m.add(&format!("{prefix}notice {name}"));
            ids.push(p.template_id);
            texts.push(m.template(p.template_id).unwrap().to_string());
        }
        let shape = if prefix.is_empty() { "" } else { "<*> " };
        // Seven names may still be seven events; the eighth makes the place a variable, and
        // the templates of the seven forward to it.
        assert_eq!(texts[6], format!("{shape}notice {}", names[6]));
        assert_eq!(texts[7], format!("{shape}notice <*>"));
        for id in &ids {
            assert_eq!(m.resolve(*id), ids[7], "{prefix:?}");
        }
    }
    // Participles say what happened, labels name the value after them, and words in code
    // style are the program's: however many, each stays an event of its own.
    for words in [
        [
            "opened", "closed", "started", "stopped", "paused", "resumed", "failed", "retried",
        ],
        [
            "type:", "name:", "file:", "tag:", "load:", "mode:", "path:", "size:",
        ],
        [
            "onStart",
            "onStop",
            "onPause",
            "onResume",
            "onCreate",
            "onDestroy",
            "onBind",
            "onUnbind",
        ],
    ] {
        let mut m = miner();
        let texts: Vec<String> = words
            .iter()
            .map(|w| learnt(&mut m, &format!("job {w}")))
            .collect();
        let expected: Vec<String> = words.iter().map(|w| format!("job {w}")).collect();
        assert_eq!(texts, expected);
    }
}

#[test]
fn an_empty_field_is_the_field_without_its_value() {
    // Android logs a wake lock with its work source, or with `ws=null` when it has none.
    let mut m = miner();
    let line = |pid: u32, ws: &str| {
        format!("acquire lock={pid}, flags=0x1, tag=\"View Lock\", name=systemui, ws={ws}, uid=10037, pid={pid}")
    };
    let empty = m.add(&line(2227, "null")).template_id;
    let full = m.add(&line(2228, "WorkSource{10113}")).template_id;
    assert_eq!(m.resolve(empty), full);
    let text = m.template(full).unwrap();
    assert!(text.contains(" ws=<*>, uid=<*>,"), "{text}");
    // Both kinds fit it from now on.
    assert_eq!(m.add(&line(2229, "null")).template_id, full);
    assert_eq!(m.add(&line(2230, "WorkSource{10045}")).template_id, full);
    // An empty field against a word (`open`) is two states, not a value and its absence.
    let mut m = miner();
    let a = m.add("door state=null, checked by guard").template_id;
    let b = m.add("door state=open, checked by guard").template_id;
    assert_ne!(m.resolve(a), m.resolve(b));
}

/// Seven search terms, of one to four words, in the same failure message.
const TERMS: [&str; 7] = [
    "red shoes",
    "laptop",
    "gift card balance",
    "running shoes size 44",
    "Kaffeemühle",
    "O'Reilly books",
    "🎁 wrapping paper",
];

#[test]
fn a_quoted_search_term_is_one_variable_whatever_its_words() {
    let want = TemplateId::of("query <*> failed: timeout after <*> ms");
    let mut m = miner();
    // An incident: three timeouts a minute for thirty minutes, each for another term.
    for i in 0..90 {
        let line = format!(
            "query '{}' failed: timeout after {} ms",
            TERMS[i % 7],
            2900 + i
        );
        let p = m.add(&line);
        assert_eq!(p.template_id, want, "{line}");
        let slots: Vec<_> = p.params.iter().map(|x| (x.slot, x.value)).collect();
        assert_eq!(slots, vec![(1, (2900 + i) as f64)], "{line}");
    }
    assert_eq!(
        m.templates(),
        vec![(want, "query <*> failed: timeout after <*> ms", 90)]
    );
    assert_eq!(m.slot_name(want, 0), "query");
    assert_eq!(m.slot_name(want, 1), "after_ms");
    // Double quotes and a `key=` before the quote are the same variable; the id is the same
    // on another instance that saw the terms in another order.
    let mut other = miner();
    for t in TERMS.iter().rev() {
        let p = other.add(&format!("query \"{t}\" failed: timeout after 7 ms"));
        assert_eq!(p.template_id, want, "{t}");
    }
    let p = m.add("search q='blue jeans' took 12 ms");
    assert_eq!(m.template(p.template_id), Some("search q=<*> took <*> ms"));
}

#[test]
fn words_seen_before_a_value_in_their_place_join_its_template() {
    // Package names without a digit come first and get templates of their own; the first
    // name with a digit is masked, and a later name would join its template at once, so the
    // earlier ones join it too, their ids forwarding.
    let mut m = miner();
    let dpkg = m.add("Package: dpkg").template_id;
    let fontconfig = m.add("Package: fontconfig").template_id;
    assert_ne!(dpkg, fontconfig);
    let libc = m.add("Package: libidn2-dev").template_id;
    assert_eq!(m.template(libc), Some("Package: <*>"));
    assert_eq!(m.resolve(dpkg), libc);
    assert_eq!(m.resolve(fontconfig), libc);
    assert_eq!(m.add("Package: tar").template_id, libc);
    assert_eq!(m.templates(), vec![(libc, "Package: <*>", 4)]);
    // Only a template one position apart joins: one that also differs elsewhere may be
    // another event that happens to share the rest.
    let other = m.add("job alpha ran on beta").template_id;
    let values = m.add("job 17 ran on 42").template_id;
    assert_eq!(m.template(values), Some("job <*> ran on <*>"));
    assert_eq!(m.resolve(other), other);
    assert_eq!(m.template(other), Some("job alpha ran on beta"));
}

#[test]
fn a_month_name_that_joins_a_variable_in_a_short_line_is_a_variable() {
    // Found by `ids_resolve_to_live_templates_and_params_fit`: `Jun` became a variable without
    // a masked text, and comparing the line with the short templates of its leaf read it.
    let mut m = miner();
    m.add("(x) 0 open 0");
    let id = m.add("(x) 0 c Jun 0").template_id;
    assert_eq!(m.template(id), Some("(x) <*> c <*>"));
}

#[test]
fn the_quoted_message_and_error_of_a_structured_line_are_its_words() {
    let mut m = miner();
    let mut text = |line: &str| learnt(&mut m, line);
    // logfmt, as Go's loggers write it: the message is the event, so each keeps its words
    // (masked one by one) and two messages never share a template.
    assert_eq!(
        text(r#"level=info msg="Starting TSDB ..." component=tsdb"#),
        r#"level=info msg="Starting TSDB ..." component=tsdb"#
    );
    assert_eq!(
        text(r#"level=info msg="TSDB started" component=tsdb"#),
        r#"level=info msg="TSDB started" component=tsdb"#
    );
    assert_eq!(
        text(r#"level=info msg="Loaded 12 rules" file="rules one.yml""#),
        r#"level=info msg="Loaded <*> rules" file=<*>"#
    );
    // The error text too: a refused connection and a timeout are different failures.
    assert_eq!(
        text(r#"level=warn msg="Scrape failed" err="connection refused" target=10.0.0.1:9100"#),
        r#"level=warn msg="Scrape failed" err="connection refused" target=<*>"#
    );
    // JSON, with or without a space after the key.
    assert_eq!(
        text(r#"{"level": "info", "msg": "listening on port 8080", "user": "Alice Smith"}"#),
        r#"{"level": <*>, "msg": "listening on port <*>", "user": <*>}"#
    );
    assert_eq!(
        text(r#"{"message":"cache warmed up"}"#),
        r#"{"message":"cache warmed up"}"#
    );
}

#[test]
fn quoted_text_that_is_part_of_the_shape_stays() {
    let mut m = miner();
    let mut text = |line: &str| learnt(&mut m, line);
    // The method of a quoted HTTP request line is the event.
    assert_eq!(
        text(r#"10.0.0.1 "GET /v2/servers/detail HTTP/1.1" status: 200 len: 1893"#),
        r#"<*> "GET <*> <*>" status: <*> len: <*>"#
    );
    // A quoted identifier in code style is a name in the program, not user input.
    assert_eq!(
        text("Successfully started service 'sparkDriver' on port 40984."),
        "Successfully started service 'sparkDriver' on port <*>"
    );
    assert_eq!(
        text("Invalid value for 'dfs.datanode.data.dir' in config"),
        "Invalid value for 'dfs.datanode.data.dir' in config"
    );
    assert_eq!(
        text(r#"Acquiring suspend blocker "PowerManagerService.WakeLocks"."#),
        r#"Acquiring suspend blocker "PowerManagerService.WakeLocks"."#
    );
    // JSON keys stay; values are masked.
    assert_eq!(
        text(r#"event {"user": "Alice Smith", "action": "log in", "n": 5}"#),
        r#"event {"user": <*>, "action": <*>, "n": <*>}"#
    );
    assert_eq!(
        text(r#"event {"user":"Alice Smith"}"#),
        r#"event {"user":<*>}"#
    );
    // Apostrophes inside words and quotes without a partner change nothing.
    assert_eq!(
        text("user can't log in, it's locked"),
        "user can't log in, it's locked"
    );
    assert_eq!(
        text(r#"stray 'quote and name=systemui", here"#),
        r#"stray 'quote and name=systemui", here"#
    );
}

/// Lines `{pre}{word}{post}` for each word, through one miner; their ids.
fn lines_with(m: &mut TemplateMiner, pre: &str, words: &[&str], post: &str) -> Vec<TemplateId> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| m.add(&format!("{pre}{w}{post}.{i}")).template_id)
        .collect()
}

#[test]
fn a_word_that_varies_in_a_routing_position_becomes_a_variable() {
    let users = ["alice", "bob", "carol", "dave", "erin"];
    let mut m = miner();
    let ids = lines_with(&mut m, "", &users, " logged in from 10.0.0");
    // Three users are three templates (two or three words there are often constants) ...
    assert_eq!(m.template(ids[0]), Some("alice logged in from <*>"));
    assert_eq!(m.template(ids[2]), Some("carol logged in from <*>"));
    // ... the fourth makes the position a variable, and the old ids forward to it.
    let merged = TemplateId::of("<*> logged in from <*>");
    assert_eq!(&ids[3..], &[merged, merged]);
    for id in &ids {
        assert_eq!(m.resolve(*id), merged);
    }
    assert_eq!(m.template(ids[0]), Some("alice logged in from <*>"));
    // Users seen before, and new ones, land there, learning or not.
    assert_eq!(m.add("alice logged in from 10.9.9.9").template_id, merged);
    let p = m.match_message("bob logged in from 10.1.1.1").unwrap();
    assert_eq!(p.template_id, merged);
    let p = m.match_message("zoe logged in from 10.1.1.1").unwrap();
    assert_eq!(p.template_id, merged);
    assert_eq!(m.templates(), vec![(merged, "<*> logged in from <*>", 6)]);
    assert_eq!(m.slot_name(merged, 0), "slot0");

    // The second routing position, and a short message with two words of context.
    let ids = lines_with(&mut m, "User ", &users, " signed out after 1");
    let merged = TemplateId::of("User <*> signed out after <*>");
    assert!(ids.iter().all(|id| m.resolve(*id) == merged));
    let mut m = miner();
    for u in users {
        m.add(&format!("{u} logged in"));
    }
    let p = m.add("alice logged in");
    assert_eq!(m.template(p.template_id), Some("<*> logged in"));
    assert_eq!(m.templates().len(), 1);
}

#[test]
fn constants_in_routing_positions_stay_apart() {
    let mut m = miner();
    for _ in 0..3 {
        for verb in ["Acquiring", "Releasing"] {
            m.add(&format!(
                "{verb} suspend blocker \"PowerManagerService.WakeLocks\"."
            ));
        }
        // Three plain words: not yet a variable.
        for verb in ["Starting", "Stopping", "Restarting"] {
            m.add(&format!("{verb} job scheduler service"));
        }
        // Words in code style never count, however many.
        for key in [
            "tickTime",
            "minSessionTimeout",
            "maxSessionTimeout",
            "autopurge.purgeInterval",
            "autopurge.snapRetainCount",
            "MAX_CLIENTS",
        ] {
            m.add(&format!("{key} set to 2000"));
        }
        // One word of context is too little to call two events the same.
        for host in ["alpha", "beta", "gamma", "delta", "epsilon"] {
            m.add(&format!("{host} restarted"));
        }
    }
    assert_eq!(m.templates().len(), 2 + 3 + 6 + 5);
}

#[test]
fn a_merge_survives_a_restart_and_matches_a_miner_that_never_stopped() {
    let users = ["alice", "bob", "carol", "dave"];
    let mut a = miner();
    let ids = lines_with(&mut a, "", &users[..3], " logged in from 10.0.0");
    let json = serde_json::to_string(&a).unwrap();
    let mut b: TemplateMiner = serde_json::from_str(&json).unwrap();
    let pa = a.add("dave logged in from 10.0.0.3");
    let pb = b.add("dave logged in from 10.0.0.3");
    assert_eq!(pa, pb);
    assert_eq!(pa.template_id, TemplateId::of("<*> logged in from <*>"));
    for id in ids {
        assert_eq!(b.resolve(id), pb.template_id);
    }
    // Saved after the merge: forwarding and the wildcard branch come back too.
    let json = serde_json::to_string(&b).unwrap();
    let c: TemplateMiner = serde_json::from_str(&json).unwrap();
    let p = c.match_message("alice logged in from 10.7.7.7").unwrap();
    assert_eq!(p.template_id, pb.template_id);
    assert_eq!(c.templates(), b.templates());
}

#[test]
fn real_line_shapes_get_one_stable_template_each() {
    let mut m = miner();
    // Each family: lines of one event, values changed. Every family ends in one template,
    // and replaying all lines creates none and moves none.
    let families: Vec<Vec<String>> = vec![
        // Embedded JSON, compact.
        (0..6)
            .map(|i| format!(r#"request done {{"user_id":{i},"path":"/api/v{i}/items","ms":{}}}"#, 10 * i))
            .collect(),
        // key=value runs.
        (0..6)
            .map(|i| format!("audit op=write uid={} bytes={} latency={}ms ok=true", 100 + i, 4096 * i, i))
            .collect(),
        // A Java stack trace joined into one message (line numbers and addresses change).
        (0..6)
            .map(|i| {
                format!(
                    "java.lang.IllegalStateException: pool exhausted\n\tat com.shop.db.Pool.get(Pool.java:{})\n\tat com.shop.api.Orders.create(Orders.java:{})\n\tat java.base/java.lang.Thread.run(Thread.java:{})",
                    80 + i,
                    120 + i,
                    833 + i
                )
            })
            .collect(),
        // Non-English text and emoji around values.
        (0..6)
            .map(|i| format!("Bestellung {} für Kunde 🚀 fehlgeschlagen: Zeitüberschreitung nach {} s", 9000 + i, i))
            .collect(),
        (0..6)
            .map(|i| format!("用户 {} 登录失败 ✗ 来自 10.0.0.{}", 500 + i, i))
            .collect(),
        // Sizes in changing units and an annotation that comes and goes.
        (0..6)
            .map(|i| match i % 3 {
                0 => format!("cache stored block_{i} ({i}.5 KB), free {} MB", 10 + i),
                1 => format!("cache stored block_{i} ({} B), free {} GB", 100 * i, i),
                _ => format!("cache stored block_{i} ({i} MB), free {i}.2 MB"),
            })
            .collect(),
    ];
    let mut ids = Vec::new();
    for family in &families {
        let first: Vec<TemplateId> = family.iter().map(|l| m.add(l).template_id).collect();
        ids.push(first);
    }
    let before = m.templates().len();
    assert_eq!(before, families.len(), "{:#?}", m.templates());
    for (family, first) in families.iter().zip(&ids) {
        let last = m.resolve(first[0]);
        for (line, id) in family.iter().zip(first) {
            assert_eq!(m.resolve(*id), last, "{line}");
            let again = m.add(line).template_id;
            assert_eq!(m.resolve(again), last, "{line}");
        }
    }
    assert_eq!(m.templates().len(), before);
}

#[test]
fn a_word_with_few_values_keeps_a_template_per_value_until_it_varies() {
    let mut m = miner();
    // Two states of a device are two events...
    let on = m
        .add("Location icon should now be in state Active")
        .template_id;
    let off = m
        .add("Location icon should now be in state Inactive")
        .template_id;
    assert_ne!(m.resolve(on), m.resolve(off));
    assert_eq!(
        m.template(off),
        Some("Location icon should now be in state Inactive")
    );
    // ...while a fourth distinct word says the position holds values.
    m.add("Location icon should now be in state Unknown");
    let any = m
        .add("Location icon should now be in state Paused")
        .template_id;
    assert_eq!(
        m.template(any),
        Some("Location icon should now be in state <*>")
    );
    assert_eq!(m.resolve(on), any);
    assert_eq!(m.resolve(off), any);
    // A value on either side merges at once: `rhost=` and `rhost=<*>` are one word.
    let a = m
        .add("authentication failure; rhost=10.0.0.1 user=root")
        .template_id;
    let b = m
        .add("authentication failure; rhost= user=root")
        .template_id;
    let c = m
        .add("authentication failure; rhost=example.org user=root")
        .template_id;
    assert_eq!(m.resolve(a), m.resolve(b));
    assert_eq!(m.resolve(a), m.resolve(c));
    assert_eq!(
        m.template(m.resolve(a)),
        Some("authentication failure; rhost=<*> user=root")
    );
}

/// Letters only (no digits, which would be masked): a word of its own for every `i`.
fn word(mut i: usize) -> String {
    let mut w = String::from("w");
    loop {
        w.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
        if i == 0 {
            return w;
        }
    }
}

/// A source that says something new on every line cannot grow the templates past
/// `max_templates`: once there, a line that fits no template joins the catch-all template of
/// its length, counted; lines that fit a template still get it.
#[test]
fn templates_stop_growing_at_max_templates() {
    let mut m = TemplateMiner::new(ParseConfig {
        max_templates: 50,
        ..ParseConfig::default()
    });
    let known = m.add("disk full on the data volume").template_id;
    let mut ids = Vec::new();
    for i in 0..2_000 {
        // Three or four words of their own: nothing in common with any other line.
        let n = 3 + i % 2;
        let line: Vec<String> = (0..n).map(|k| word(i * 4 + k)).collect();
        ids.push(m.add(&line.join(" ")).template_id);
    }
    let templates = m.templates();
    // At most the cap plus one catch-all per token count seen (3 and 4).
    assert!(templates.len() <= 52, "{} templates", templates.len());
    assert!(m.overflowed() > 1_000, "{} overflowed", m.overflowed());
    let texts: Vec<&str> = templates.iter().map(|t| t.1).collect();
    assert!(texts.contains(&"<*> <*> <*>"), "{texts:?}");
    assert!(texts.contains(&"<*> <*> <*> <*>"), "{texts:?}");
    // Every id given out still resolves to a live template.
    for id in ids {
        let id = m.resolve(id);
        assert!(templates.iter().any(|t| t.0 == id), "{id} is not live");
    }
    let again = m.add("disk full on the data volume").template_id;
    assert_eq!(
        m.resolve(again),
        m.resolve(known),
        "a known line keeps its template"
    );
    // The count of live templates survives a save and load: still capped.
    let json = serde_json::to_string(&m).unwrap();
    let mut back: TemplateMiner = serde_json::from_str(&json).unwrap();
    back.add("entirely unheard of words here");
    assert!(back.templates().len() <= 53);
    assert_eq!(back.overflowed(), 1);
}

/// Split ahead on several threads, then matched or learnt in order: the same templates and
/// parameters as splitting on the learning thread, whatever the thread count.
#[test]
fn messages_split_ahead_learn_and_match_as_split_inline() {
    let lines = mixed_lines();
    let messages: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut inline = miner();
    let expected: Vec<Parsed> = messages
        .iter()
        .map(|m| match inline.match_message(m) {
            Some(p) => p,
            None => inline.add(m),
        })
        .collect();
    for threads in [1, 2, 5] {
        let mut ahead = miner();
        let mut tokens = split_all(&ahead.tokenizer(), &messages, threads);
        assert_eq!(tokens.len(), messages.len());
        let got: Vec<Parsed> = messages
            .iter()
            .zip(&mut tokens)
            .map(|(m, t)| match ahead.match_tokens(m, t) {
                Some(p) => p,
                None => ahead.add_tokens(m, t),
            })
            .collect();
        assert_eq!(got, expected, "{threads} threads");
        assert_eq!(ahead.templates(), inline.templates(), "{threads} threads");
    }
    assert!(inline.templates().len() >= 5, "{:?}", inline.templates());
}

/// 3,000 lines of five kinds, with addresses, quoted hosts, JSON and non-ASCII words.
fn mixed_lines() -> Vec<String> {
    (0..3_000)
        .map(|i| match i % 5 {
            0 => format!(
                "Connection from 10.0.{}.{} closed after {}ms",
                i % 7,
                i % 250,
                i
            ),
            1 => format!(
                "user u{} logged in from \"host {}\" port {}",
                i % 40,
                i % 3,
                1000 + i
            ),
            2 => format!("GET /api/v1/items/{} 200 {}", i, i % 97),
            3 => format!("job {} finished: {{\"rows\": {}, \"ok\": true}}", i % 11, i),
            _ => format!("worker-{} heartbeat {} ✓ naïve", i % 4, word(i % 9)),
        })
        .collect()
}

#[test]
fn routing_words_looked_up_in_a_stale_copy_of_the_vocabulary_learn_the_same_templates() {
    let lines = mixed_lines();
    let mut inline = miner();
    let expected: Vec<TemplateId> = lines.iter().map(|m| inline.learn(m)).collect();
    let mut ahead = miner();
    let tokenizer = ahead.tokenizer();
    let mut copy = Vocabulary::default();
    let mut tokens = Tokens::default();
    let mut got = Vec::new();
    for (i, m) in lines.iter().enumerate() {
        // The copy lags the miner by up to 250 lines, as a worker's copy does.
        if i % 250 == 0 {
            copy.extend(ahead.words_since(copy.len()));
        }
        tokenizer.split_known(m, &mut tokens, &copy);
        got.push(ahead.learn_tokens(m, &mut tokens));
    }
    assert_eq!(got, expected);
    assert_eq!(ahead.templates(), inline.templates());
    // The copy ended up knowing most of the words, so most lookups were done ahead.
    assert!(
        copy.len() > 10 && copy.len() <= ahead.words(),
        "{}",
        copy.len()
    );
}

#[test]
fn short_lines_that_differ_in_a_qualified_name_share_a_template_once_four_names_are_seen() {
    // A package manager's log: a time, an action, `name:architecture`, a version. One word
    // of three differs, so no line is similar enough to another to join it.
    let names = ["vim", "wget", "less", "patch", "dbus", "strace"];
    let mut m = miner();
    let ids: Vec<TemplateId> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            m.learn(&format!(
                "2026-05-09 07:29:{i:02} configure {name}:amd64 1.{i}-2 <none>"
            ))
        })
        .collect();
    let want = "<*> configure <*> <*> <none>";
    // The fourth name merges the first three into one template, and their ids forward.
    for id in &ids {
        assert_eq!(text(&m, *id), want);
    }
    // A later name, even one without digits (`:all`), joins it at once.
    let later = m.learn("2026-05-09 07:30:00 configure media-types:all 10.0.0 <none>");
    assert_eq!(text(&m, later), want);
    // The other actions keep their own templates.
    let other = m.learn("2026-05-09 07:30:01 unpack vim:amd64 1.0-2 <none>");
    assert_eq!(text(&m, other), "<*> unpack vim:<*> <*> <none>");
}

#[test]
fn short_lines_that_differ_in_a_plain_word_stay_apart() {
    // Four events, not one event with four values (BGL).
    let kinds = ["illegal", "privileged", "imprecise", "trap"];
    let mut m = miner();
    for kind in kinds {
        m.learn(&format!("program interrupt: {kind} instruction......0"));
    }
    for kind in kinds {
        let id = m.learn(&format!("program interrupt: {kind} instruction......0"));
        assert_eq!(text(&m, id), format!("program interrupt: {kind} <*>"));
    }
}
