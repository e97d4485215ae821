//! The platform's vocabulary: customers, carriers, places, search terms, and the shapes of its
//! identifiers (shipment ids, tracking numbers, invoice numbers, pod names).
//!
//! Lists are ordered from most to least common: callers draw from them with
//! [`ScenarioRng::pick_skewed`] so a few customers dominate the traffic, as they do.

use super::rng::ScenarioRng;

/// Customer account slugs (API keys are named after them).
pub(crate) const CUSTOMERS: &[&str] = &[
    "acme-freight",
    "northwind-traders",
    "blue-harbor-imports",
    "contoso-retail",
    "globex-supply",
    "initech-parts",
    "umbrella-medical",
    "stark-industrial",
    "wayne-logistics",
    "tyrell-electronics",
    "cyberdyne-components",
    "soylent-foods",
    "hooli-devices",
    "vandelay-industries",
    "massive-dynamic",
    "pied-piper-hardware",
    "oceanic-apparel",
    "gringotts-vaults",
    "duff-beverages",
    "monarch-furniture",
    "nakatomi-trading",
    "ollivander-crafts",
    "prestige-worldwide",
    "sterling-cooper",
    "bluth-produce",
    "dunder-paper",
    "wonka-confections",
    "zorin-mining",
    "kramerica-goods",
    "aperture-labs",
];

/// Carrier codes.
pub(crate) const CARRIERS: &[&str] = &["ups", "fedex", "usps", "dhl", "ontrac", "lasership"];

/// Service levels of a shipment.
pub(crate) const SERVICE_LEVELS: &[&str] = &["GROUND", "EXPRESS", "2DAY", "OVERNIGHT", "FREIGHT"];

/// Hubs and depots (three-letter codes with a city).
pub(crate) const DEPOTS: &[&str] = &[
    "ORD", "DFW", "ATL", "LAX", "MEM", "SDF", "IND", "PHX", "EWR", "SEA", "DEN", "MCI",
];

/// US state codes for lanes.
pub(crate) const STATES: &[&str] = &[
    "TX", "IL", "CA", "NY", "GA", "TN", "OH", "PA", "FL", "WA", "AZ", "CO", "MO", "KY", "NJ", "MI",
    "MN", "WI", "IN", "NC",
];

/// First names for user e-mails and drivers.
pub(crate) const FIRST: &[&str] = &[
    "maria", "james", "wei", "fatima", "john", "olga", "diego", "aisha", "tom", "priya", "lukas",
    "emma", "kenji", "sara", "omar", "chloe", "ivan", "nina", "raj", "lea",
];

/// Last names for user e-mails.
pub(crate) const LAST: &[&str] = &[
    "garcia", "smith", "chen", "khan", "miller", "novak", "lopez", "okafor", "brown", "patel",
    "weber", "johnson", "tanaka", "cohen", "haddad", "martin", "petrov", "kowalski", "singh",
    "dubois",
];

/// What operators and customers type into tracking search (one to three words).
pub(crate) const SEARCH_TERMS: &[&str] = &[
    "delayed",
    "customs hold",
    "out for delivery",
    "rotterdam hub",
    "chicago ord",
    "damaged",
    "return to sender",
    "address correction",
    "memphis",
    "missed pickup",
    "signature required",
    "weekend delivery",
    "hazmat",
    "lithium battery",
    "pallet",
    "refused",
    "exception",
    "held at depot",
    "dallas fort worth",
    "reroute",
    "cold chain",
    "proof of delivery",
    "oversize",
    "liftgate",
    "appointment",
    "duties unpaid",
    "po box",
    "north dock",
    "canceled label",
    "late linehaul",
];

/// Search terms the history never saw (used by the timeout incident beside known ones).
pub(crate) const NEW_SEARCH_TERMS: &[&str] = &[
    "warehouse 7 inventory",
    "all open exceptions",
    "november returns",
    "fragile glass",
    "bulk reprint",
    "carrier claims q4",
    "stuck in transit",
    "priority overnight ny",
    "ecommerce peak",
];

/// Upstream services behind the edge proxy, with the API routes that lead to them.
pub(crate) const ROUTES: &[(&str, &str, &str, f64)] = &[
    // (method, route shape, upstream, share of requests)
    ("GET", "/api/v2/shipments/{shp}", "shipment-api", 0.30),
    ("GET", "/api/v2/tracking/{trk}", "tracking-search", 0.24),
    ("POST", "/api/v2/rates/quote", "rate-engine", 0.15),
    ("POST", "/api/v2/shipments", "shipment-api", 0.08),
    (
        "GET",
        "/api/v2/invoices?customer={cust}&page={page}",
        "billing-api",
        0.07,
    ),
    ("POST", "/api/v2/payments/charges", "payment-gateway", 0.05),
    ("GET", "/api/v2/labels/{shp}.pdf", "shipment-api", 0.05),
    (
        "GET",
        "/api/v2/customers/{cust}/addresses?limit=50",
        "shipment-api",
        0.04,
    ),
    ("POST", "/api/v2/webhooks/test", "notifier", 0.01),
    ("DELETE", "/api/v2/shipments/{shp}", "shipment-api", 0.01),
];

/// User agents of API clients.
pub(crate) const USER_AGENTS: &[&str] = &[
    "parcelstream-sdk-python/3.4.1",
    "parcelstream-sdk-node/2.9.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
    "okhttp/4.12.0",
    "Go-http-client/2.0",
    "curl/8.5.0",
    "shopify-connector/1.18",
];

const BASE32: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A shipment id, `SHP-4F7K2Q9`.
pub(crate) fn shipment(r: &mut ScenarioRng) -> String {
    format!("SHP-{}", r.chars(BASE32, 7))
}

/// A carrier tracking number in the carrier's own shape.
pub(crate) fn tracking(r: &mut ScenarioRng) -> String {
    match r.int(0, 3) {
        0 => format!("1Z{}", r.chars(b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ", 16)),
        1 => r.digits(12),
        2 => format!("JJD{}", r.digits(18)),
        _ => format!("9400{}", r.digits(18)),
    }
}

/// A customer, the big ones more often.
pub(crate) fn customer(r: &mut ScenarioRng) -> &'static str {
    let c: &&'static str = r.pick_skewed(CUSTOMERS);
    c
}

/// A user e-mail at a customer.
pub(crate) fn email(r: &mut ScenarioRng) -> String {
    let first = *r.pick(FIRST);
    let last = *r.pick(LAST);
    let cust = customer(r);
    format!(
        "{first}.{last}@{}.com",
        cust.split('-').next().unwrap_or(cust)
    )
}

/// A public client address (documentation ranges).
pub(crate) fn public_ip(r: &mut ScenarioRng) -> String {
    let net = *r.pick(&["203.0.113", "198.51.100", "192.0.2"]);
    format!("{net}.{}", r.int(2, 254))
}

/// An address inside the cluster network.
pub(crate) fn internal_ip(r: &mut ScenarioRng) -> String {
    format!("10.{}.{}.{}", r.int(0, 3), r.int(0, 31), r.int(2, 250))
}

/// A Kubernetes-style pod name suffix (`7d9f8c6b4-x2k4q`).
pub(crate) fn pod_suffix(r: &mut ScenarioRng) -> String {
    format!("{}-{}", r.hex(9), r.chars(ALNUM, 5))
}

/// A freight lane, `TX->IL`.
pub(crate) fn lane(r: &mut ScenarioRng) -> String {
    let a = *r.pick_skewed(STATES);
    let mut b = *r.pick_skewed(STATES);
    if a == b {
        b = *r.pick(STATES);
    }
    format!("US-{a}->US-{b}")
}

/// A money amount with two decimals.
pub(crate) fn amount(r: &mut ScenarioRng, median: f64) -> String {
    format!("{:.2}", r.lognormal(median, 0.8).max(1.0))
}

/// A search term: mostly known ones, skewed towards the common.
pub(crate) fn search_term(r: &mut ScenarioRng) -> String {
    if r.chance(0.12) {
        // operators paste ids too
        shipment(r)
    } else {
        r.pick_skewed(SEARCH_TERMS).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_shapes() {
        let mut r = ScenarioRng::stream(9, "v");
        let s = shipment(&mut r);
        assert!(s.starts_with("SHP-") && s.len() == 11, "{s}");
        assert!(email(&mut r).contains('@'));
        assert_eq!(pod_suffix(&mut r).len(), 15);
        assert!(lane(&mut r).contains("->"));
        let shares: f64 = ROUTES.iter().map(|r| r.3).sum();
        assert!((shares - 1.0).abs() < 1e-9, "{shares}");
        for t in NEW_SEARCH_TERMS {
            assert!(!SEARCH_TERMS.contains(t), "{t}");
        }
    }
}
