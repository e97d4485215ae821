//! The synthetic web shop: eight services and the message shapes they log, with the
//! variables a template miner has to mask (ids, UUIDs, IPs, e-mail addresses, URLs, paths,
//! durations with units, sizes, `key=value` pairs).
//!
//! A [`Shape`] is one kind of log line of one service at one level, with its rate at the
//! daily peak; [`Mods`] carries the state of the world in the current minute (traffic level,
//! deploy warm-up, injected trends) that rates and values depend on. The medians of the two
//! trended values ([`pool_wait_median`], [`search_latency_median`]) are functions here so that
//! the generator computes the labelled breach times from the same numbers it draws from.

use super::rng::DemoRng;

/// The services of the shop, in a fixed order (indices are used throughout the demo).
pub const SERVICES: [&str; 8] = [
    "gateway",
    "auth",
    "checkout",
    "payments",
    "inventory",
    "search",
    "notifier",
    "db-proxy",
];

/// Index of a service in [`SERVICES`].
pub fn service_index(name: &str) -> Option<usize> {
    SERVICES.iter().position(|s| *s == name)
}

/// The normal share of declined card authorizations.
pub const NORMAL_DECLINE_SHARE: f64 = 0.015;

/// The state of the shop in one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Mods {
    /// Traffic level, 0-1 (1 at the busiest hour of a weekday).
    pub load: f64,
    /// Request latency factor: 1, higher while a deploy warms up.
    pub slow: f64,
    /// Pool wait factor: 1, growing during the drift incident.
    pub pool_drift: f64,
    /// Milliseconds added to the search latency median during the forecast incident.
    pub search_trend_ms: f64,
    /// Share of card authorizations declined.
    pub decline_share: f64,
    /// Rate factor of the inventory cache-miss line.
    pub cache_miss_factor: f64,
}

impl Default for Mods {
    fn default() -> Self {
        Mods {
            load: 1.0,
            slow: 1.0,
            pool_drift: 1.0,
            search_trend_ms: 0.0,
            decline_share: NORMAL_DECLINE_SHARE,
            cache_miss_factor: 1.0,
        }
    }
}

/// Median of the db-proxy pool wait (`wait_ms`): grows with load, and with the drift.
pub fn pool_wait_median(m: &Mods) -> f64 {
    3.0 * (1.0 + m.load) * m.pool_drift
}

/// Median of the search latency (`latency_ms`): grows with load and deploy warm-up, plus the
/// forecast incident's trend.
pub fn search_latency_median(m: &Mods) -> f64 {
    80.0 * (1.0 + 0.6 * m.load) * m.slow + m.search_trend_ms
}

/// Draws variables for one line.
pub struct Vars<'a> {
    pub(crate) rng: &'a mut DemoRng,
    pub(crate) mods: &'a Mods,
}

const FIRST: [&str; 16] = [
    "anna", "lukas", "mia", "jonas", "lea", "felix", "emma", "paul", "sofia", "noah", "marie",
    "elias", "hanna", "ben", "clara", "tim",
];
const LAST: [&str; 12] = [
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "hoffmann",
    "koch",
    "richter",
    "klein",
];
const DOMAINS: [&str; 6] = [
    "gmail.com",
    "web.de",
    "gmx.net",
    "outlook.com",
    "t-online.de",
    "posteo.de",
];
const TERMS: [&str; 14] = [
    "running shoes",
    "rain jacket",
    "usb-c cable",
    "coffee grinder",
    "yoga mat",
    "wool socks",
    "headphones",
    "backpack",
    "desk lamp",
    "water bottle",
    "gift card",
    "winter boots",
    "phone case",
    "espresso",
];
const TABLES: [&str; 8] = [
    "orders",
    "order_items",
    "carts",
    "users",
    "stock",
    "payments",
    "sessions",
    "coupons",
];
const PSPS: [&str; 3] = ["adyen", "stripe", "paypal"];
const REASONS: [&str; 4] = [
    "insufficient_funds",
    "card_expired",
    "do_not_honor",
    "suspected_fraud",
];
const WAREHOUSES: [&str; 4] = ["ber-1", "ham-2", "muc-1", "cgn-3"];

impl Vars<'_> {
    fn f(&mut self) -> f64 {
        self.rng.unit()
    }
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.int(lo, hi)
    }
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        let i = self.rng.int(0, items.len().saturating_sub(1) as u64) as usize;
        items[i]
    }
    /// A request latency in ms (log-normal around `median`, slowed by deploy warm-up).
    fn ms(&mut self, median: f64) -> f64 {
        self.rng.lognormal(median * self.mods.slow, 0.45)
    }
    fn ip(&mut self) -> String {
        if self.rng.chance(0.7) {
            format!(
                "{}.{}.{}.{}",
                self.pick(&["84", "93", "178", "188", "217", "31", "46", "62"]),
                self.int(1, 254),
                self.int(0, 255),
                self.int(1, 254)
            )
        } else {
            format!(
                "10.{}.{}.{}",
                self.int(0, 3),
                self.int(0, 40),
                self.int(2, 250)
            )
        }
    }
    fn email(&mut self) -> String {
        let first = self.pick(&FIRST);
        let last = self.pick(&LAST);
        let dom = self.pick(&DOMAINS);
        match self.int(0, 2) {
            0 => format!("{first}.{last}@{dom}"),
            1 => format!("{first}{}@{dom}", self.int(1, 99)),
            _ => format!("{}{last}@{dom}", &first[..1]),
        }
    }
    fn uuid(&mut self) -> String {
        self.rng.uuid()
    }
    fn hex(&mut self, n: usize) -> String {
        self.rng.hex(n)
    }
    fn uid(&mut self) -> u64 {
        self.int(100_000, 4_999_999)
    }
    fn order(&mut self) -> String {
        format!("ORD-2026-{:07}", self.int(0, 9_999_999))
    }
    fn cart(&mut self) -> String {
        format!("cart_{}", self.hex(12))
    }
    fn sku(&mut self) -> String {
        format!(
            "{}-{:05}",
            self.pick(&["SHO", "APP", "ELE", "HOM", "SPO", "KIT"]),
            self.int(0, 99_999)
        )
    }
    fn eur(&mut self) -> String {
        let v = self.rng.lognormal(45.0, 0.8).max(0.99);
        format!("{v:.2}")
    }
    fn pay(&mut self) -> String {
        format!("pay_{}", self.hex(16))
    }
    fn size(&mut self) -> String {
        let bytes = self.rng.lognormal(200_000.0, 2.0);
        if bytes < 1024.0 {
            format!("{bytes:.0}B")
        } else if bytes < 1024.0 * 1024.0 {
            format!("{:.1}KiB", bytes / 1024.0)
        } else if bytes < 1024.0 * 1024.0 * 1024.0 {
            format!("{:.1}MiB", bytes / 1024.0 / 1024.0)
        } else {
            format!("{:.2}GiB", bytes / 1024.0 / 1024.0 / 1024.0)
        }
    }
    fn human_dur(&mut self, median_secs: f64) -> String {
        let s = self.rng.lognormal(median_secs, 0.9).max(1.0) as u64;
        if s < 60 {
            format!("{s}s")
        } else if s < 3600 {
            format!("{}m{:02}s", s / 60, s % 60)
        } else {
            format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
        }
    }
    fn api_path(&mut self) -> String {
        match self.int(0, 5) {
            0 => format!("/api/v2/products/{}", self.sku()),
            1 => format!("/api/v2/cart/{}", self.cart()),
            2 => format!("/api/v2/users/{}/orders", self.uid()),
            3 => format!("/api/v2/search?q={}", self.pick(&TERMS).replace(' ', "+")),
            4 => format!("/api/v2/orders/{}", self.order()),
            _ => "/api/v2/recommendations".to_string(),
        }
    }
    fn url(&mut self) -> String {
        format!(
            "https://{}/{}/{}",
            self.pick(&[
                "acs.bank-secure.de",
                "3ds.visa-verify.com",
                "id.mastercard.net",
                "secure.sparkasse.de"
            ]),
            self.pick(&["challenge", "auth", "v2/acs"]),
            self.hex(20)
        )
    }
    fn term(&mut self) -> &'static str {
        let i = self.rng.int(0, TERMS.len() as u64 - 1) as usize;
        TERMS[i]
    }
}

/// One kind of log line.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// A stable name (`service.what`), used by incidents and tests.
    pub key: &'static str,
    /// Index into [`SERVICES`].
    pub service: usize,
    /// The log level.
    pub level: &'static str,
    /// Lines per minute at the daily peak (before the global rate factor).
    pub per_min: f64,
    /// Whether the rate follows traffic (false: steady, e.g. periodic jobs).
    pub follows_load: bool,
    /// Renders one message.
    pub render: fn(&mut Vars<'_>) -> String,
}

const fn shape(
    key: &'static str,
    service: usize,
    level: &'static str,
    per_min: f64,
    render: fn(&mut Vars<'_>) -> String,
) -> Shape {
    Shape {
        key,
        service,
        level,
        per_min,
        follows_load: true,
        render,
    }
}

const fn steady(
    key: &'static str,
    service: usize,
    level: &'static str,
    per_min: f64,
    render: fn(&mut Vars<'_>) -> String,
) -> Shape {
    Shape {
        key,
        service,
        level,
        per_min,
        follows_load: false,
        render,
    }
}

const GW: usize = 0;
const AUTH: usize = 1;
const CO: usize = 2;
const PAY: usize = 3;
const INV: usize = 4;
const SEARCH: usize = 5;
const NOTE: usize = 6;
const DB: usize = 7;

/// Every traffic shape of the shop (heartbeats, deploys and incident lines are separate).
pub fn shapes() -> Vec<Shape> {
    vec![
        // gateway
        shape("gateway.request", GW, "info", 9.0, |v| {
            let method = v.pick(&["GET", "GET", "GET", "POST", "PUT"]);
            let d = v.ms(35.0);
            format!(
                "request completed method={method} path={} status=200 duration={d:.1}ms bytes={} client={} trace_id={}",
                v.api_path(),
                v.int(200, 48_000),
                v.ip(),
                v.hex(16)
            )
        }),
        shape("gateway.static", GW, "info", 3.0, |v| {
            format!(
                "{} - - \"GET /static/{}.{}.{} HTTP/1.1\" 200 {} \"https://shop.example.com/\" \"Mozilla/5.0\"",
                v.ip(),
                v.pick(&["app", "vendor", "checkout", "styles"]),
                v.hex(8),
                v.pick(&["js", "css", "woff2"]),
                v.int(1_000, 900_000)
            )
        }),
        shape("gateway.not_found", GW, "warn", 0.5, |v| {
            let d = v.ms(8.0);
            format!(
                "request completed method=GET path={} status=404 duration={d:.1}ms client={}",
                v.api_path(),
                v.ip()
            )
        }),
        shape("gateway.upstream_slow", GW, "warn", 0.25, |v| {
            let up = v.pick(&["checkout", "search", "inventory", "auth"]);
            let d = v.rng.lognormal(700.0, 0.3);
            format!(
                "upstream {up} slow: took {d:.0}ms (budget 500ms) request_id={}",
                v.uuid()
            )
        }),
        shape("gateway.rate_limit", GW, "info", 0.12, |v| {
            format!(
                "rate limit applied client={} route={} limit=100/min remaining=0",
                v.ip(),
                v.pick(&["/api/v2/search", "/api/v2/login", "/api/v2/cart"])
            )
        }),
        shape("gateway.upstream_refused", GW, "error", 0.04, |v| {
            let up = v.pick(&["checkout", "search", "inventory", "auth"]);
            format!(
                "upstream connect error to {up}:{} after 3 attempts: connection refused (request_id={})",
                v.pick(&["8080", "8443", "9000"]),
                v.uuid()
            )
        }),
        shape("gateway.session", GW, "info", 1.5, |v| {
            format!(
                "new session {} from {} country={}",
                v.uuid(),
                v.ip(),
                v.pick(&["DE", "DE", "DE", "AT", "CH", "NL", "FR"])
            )
        }),
        shape("gateway.ws_closed", GW, "info", 0.4, |v| {
            format!(
                "websocket closed session={} after {} code=1000",
                v.uuid(),
                v.human_dur(240.0)
            )
        }),
        shape("gateway.oversized", GW, "warn", 0.02, |v| {
            format!(
                "client {} sent oversized body ({}) to {}, rejected with 413",
                v.ip(),
                v.size(),
                v.api_path()
            )
        }),
        steady("gateway.routes", GW, "info", 0.02, |v| {
            format!(
                "route table reloaded: {} routes, {} upstreams, checksum={}",
                v.int(140, 146),
                v.int(7, 8),
                v.hex(8)
            )
        }),
        // auth
        shape("auth.login", AUTH, "info", 3.0, |v| {
            format!(
                "user {} logged in via {} from {} session={}",
                v.email(),
                v.pick(&["password", "password", "google", "apple"]),
                v.ip(),
                v.uuid()
            )
        }),
        shape("auth.login_failed", AUTH, "warn", 0.4, |v| {
            format!(
                "failed login for {} from {}: invalid password (attempt {}/5)",
                v.email(),
                v.ip(),
                v.int(1, 4)
            )
        }),
        shape("auth.token", AUTH, "info", 4.0, |v| {
            format!(
                "issued access token for user_id={} scope=\"{}\" expires_in=3600s jti={}",
                v.uid(),
                v.pick(&["openid profile", "openid profile orders", "openid cart"]),
                v.hex(16)
            )
        }),
        shape("auth.refresh", AUTH, "info", 2.5, |v| {
            let d = v.ms(12.0);
            format!(
                "refreshed token for user_id={} client_id={} in {d:.1}ms",
                v.uid(),
                v.pick(&["web-shop", "ios-app", "android-app"])
            )
        }),
        shape("auth.locked", AUTH, "warn", 0.015, |v| {
            format!(
                "account {} locked after 5 failed attempts, unlock in {}",
                v.email(),
                v.pick(&["15m", "30m", "1h"])
            )
        }),
        shape("auth.reset", AUTH, "info", 0.08, |v| {
            format!(
                "password reset requested for {}, token sent (ttl=15m)",
                v.email()
            )
        }),
        steady("auth.jwks", AUTH, "info", 0.05, |v| {
            let d = v.ms(40.0);
            format!(
                "jwks cache refreshed from https://id.shop.example.com/.well-known/jwks.json keys={} in {d:.0}ms",
                v.int(2, 3)
            )
        }),
        shape("auth.ldap_timeout", AUTH, "error", 0.008, |_v| {
            "ldap bind to ldaps://ldap.corp.internal:636 failed: timeout after 5000ms".to_string()
        }),
        shape("auth.logout", AUTH, "info", 1.2, |v| {
            format!(
                "user {} logged out session={} duration={}",
                v.email(),
                v.uuid(),
                v.human_dur(900.0)
            )
        }),
        shape("auth.admin_grant", AUTH, "warn", 0.0002, admin_grant),
        // checkout
        shape("checkout.cart_update", CO, "info", 3.0, |v| {
            format!(
                "cart {} updated: added sku={} qty={} total={} EUR",
                v.cart(),
                v.sku(),
                v.int(1, 3),
                v.eur()
            )
        }),
        shape("checkout.order_created", CO, "info", 1.2, |v| {
            format!(
                "order {} created for user_id={} items={} total={} EUR",
                v.order(),
                v.uid(),
                v.int(1, 7),
                v.eur()
            )
        }),
        shape("checkout.order_confirmed", CO, "info", 1.1, |v| {
            let d = v.ms(180.0);
            format!(
                "order {} confirmed, payment {} captured in {d:.0}ms",
                v.order(),
                v.pay()
            )
        }),
        shape("checkout.retry", CO, "warn", 0.15, |v| {
            format!(
                "retrying call to payments for order {}: attempt {}/3 after {}ms",
                v.order(),
                v.int(2, 3),
                v.pick(&["100", "250", "500"])
            )
        }),
        shape("checkout.order_failed", CO, "error", 0.02, |v| {
            format!(
                "order {} failed: payment declined ({})",
                v.order(),
                v.pick(&REASONS)
            )
        }),
        shape("checkout.coupon", CO, "info", 0.3, |v| {
            format!(
                "applied coupon {}{} to cart {}: discount {} EUR",
                v.pick(&["WINTER", "WELCOME", "SALE", "VIP"]),
                v.int(5, 30),
                v.cart(),
                v.eur()
            )
        }),
        shape("checkout.shipping", CO, "info", 1.5, |v| {
            let d = v.ms(60.0);
            format!(
                "shipping quote for {:05} {}: {} EUR via {} in {d:.0}ms",
                v.int(1_000, 99_999),
                v.pick(&["DE", "DE", "AT", "CH"]),
                v.eur(),
                v.pick(&["dhl", "dpd", "hermes", "ups"])
            )
        }),
        shape("checkout.abandoned", CO, "warn", 0.4, |v| {
            format!(
                "cart {} abandoned after {} with {} items",
                v.cart(),
                v.human_dur(1200.0),
                v.int(1, 6)
            )
        }),
        shape("checkout.render", CO, "info", 2.5, |v| {
            let d = v.ms(45.0);
            format!(
                "checkout page rendered for session {} in {d:.1}ms",
                v.uuid()
            )
        }),
        // payments
        shape("payments.auth_approved", PAY, "info", 6.0, |v| {
            let d = v.ms(230.0);
            format!(
                "authorization result=approved order={} amount={} EUR card=****{:04} psp={} reason=none latency_ms={d:.0}",
                v.order(),
                v.eur(),
                v.int(0, 9_999),
                v.pick(&PSPS)
            )
        }),
        shape("payments.auth_declined", PAY, "error", 6.0, |v| {
            let d = v.ms(210.0);
            format!(
                "authorization result=declined order={} amount={} EUR card=****{:04} psp={} reason={} latency_ms={d:.0}",
                v.order(),
                v.eur(),
                v.int(0, 9_999),
                v.pick(&PSPS),
                v.pick(&REASONS)
            )
        }),
        shape("payments.issuer_timeout", PAY, "error", 0.01, |v| {
            format!(
                "issuer BIN {} did not answer within 3000ms, declining order {}",
                v.int(400_000, 559_999),
                v.order()
            )
        }),
        shape("payments.capture", PAY, "info", 5.5, |v| {
            format!("capture {} succeeded amount={} EUR", v.pay(), v.eur())
        }),
        shape("payments.refund", PAY, "info", 0.05, |v| {
            format!(
                "refund re_{} issued for order {} amount={} EUR",
                v.hex(14),
                v.order(),
                v.eur()
            )
        }),
        shape("payments.3ds", PAY, "info", 0.25, |v| {
            format!(
                "3ds challenge started for payment {} acs_url={}",
                v.pay(),
                v.url()
            )
        }),
        shape("payments.psp_slow", PAY, "warn", 0.04, |v| {
            let d = v.rng.lognormal(2200.0, 0.3);
            format!(
                "psp {} responded slowly: {d:.0}ms for {}",
                v.pick(&PSPS),
                v.pick(&[
                    "/v68/payments",
                    "/v1/payment_intents",
                    "/v2/checkout/orders"
                ])
            )
        }),
        shape("payments.webhook", PAY, "info", 0.6, |v| {
            let d = v.ms(25.0);
            format!(
                "webhook evt_{} from {} processed type={} in {d:.1}ms",
                v.hex(24),
                v.pick(&PSPS),
                v.pick(&[
                    "payment.captured",
                    "charge.succeeded",
                    "refund.updated",
                    "dispute.created"
                ])
            )
        }),
        steady("payments.fx", PAY, "info", 0.03, |v| {
            format!(
                "fx rates refreshed: {} currencies from https://fx.internal.example.com/v1/latest (age {}s)",
                v.int(30, 32),
                v.int(1, 59)
            )
        }),
        shape("payments.duplicate_webhook", PAY, "warn", 0.04, |v| {
            format!(
                "duplicate webhook evt_{} ignored (idempotency key {})",
                v.hex(24),
                v.uuid()
            )
        }),
        // inventory
        shape("inventory.reserve", INV, "info", 1.5, |v| {
            format!(
                "stock reserved sku={} qty={} warehouse={} reservation={}",
                v.sku(),
                v.int(1, 4),
                v.pick(&WAREHOUSES),
                v.uuid()
            )
        }),
        shape("inventory.release", INV, "info", 0.3, |v| {
            format!(
                "stock released reservation={} reason={}",
                v.uuid(),
                v.pick(&["expired", "cancelled", "payment_failed"])
            )
        }),
        shape("inventory.cache_miss", INV, "warn", 0.7, |v| {
            let d = v.ms(14.0);
            format!("cache miss for sku={}, loaded from db in {d:.1}ms", v.sku())
        }),
        steady("inventory.erp_sync", INV, "info", 0.05, |v| {
            format!(
                "sync batch {} from ERP finished: {} items updated, {} unchanged in {}",
                v.int(10_000, 99_999),
                v.int(0, 400),
                v.int(20_000, 24_000),
                v.human_dur(40.0)
            )
        }),
        shape("inventory.low_stock", INV, "warn", 0.08, |v| {
            format!(
                "low stock alert sku={} available={} threshold=10",
                v.sku(),
                v.int(0, 9)
            )
        }),
        shape("inventory.price", INV, "info", 0.2, |v| {
            format!(
                "price update for sku={}: {} -> {} EUR",
                v.sku(),
                v.eur(),
                v.eur()
            )
        }),
        shape("inventory.get", INV, "info", 3.0, |v| {
            let d = v.ms(6.0);
            format!("GET /v1/stock/{} 200 {d:.1}ms", v.sku())
        }),
        shape("inventory.kafka", INV, "error", 0.008, |v| {
            format!(
                "failed to publish stock event to kafka topic inventory.events partition {}: {}",
                v.int(0, 11),
                v.pick(&["NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT"])
            )
        }),
        // search
        shape("search.query", SEARCH, "info", 7.0, |v| {
            let median = search_latency_median(v.mods);
            let d = v.rng.lognormal(median, 0.3);
            format!(
                "query served q=\"{}\" index=products hits={} latency_ms={d:.0} shards={}",
                v.term(),
                v.int(0, 2_400),
                v.int(3, 5)
            )
        }),
        shape("search.autocomplete", SEARCH, "info", 4.0, |v| {
            let t = v.term();
            let n = 2 + v.int(0, 3) as usize;
            let d = v.ms(9.0);
            format!(
                "autocomplete prefix=\"{}\" suggestions={} in {d:.1}ms",
                &t[..n.min(t.len())],
                v.int(0, 10)
            )
        }),
        shape("search.slow", SEARCH, "warn", 0.08, |v| {
            let d = v.rng.lognormal(900.0, 0.3);
            format!(
                "slow query q=\"{}\" took {d:.0}ms (threshold 500ms) filters=brand:{},price_max:{}",
                v.term(),
                v.pick(&["acme", "nordic", "urbanx"]),
                v.int(20, 400)
            )
        }),
        steady("search.refresh", SEARCH, "info", 0.1, |v| {
            let d = v.ms(120.0);
            format!(
                "index refresh products segments={} size={} in {d:.0}ms",
                v.int(18, 40),
                v.size()
            )
        }),
        steady("search.reindex", SEARCH, "info", 0.04, |v| {
            format!(
                "reindexed {} documents from inventory feed batch={}",
                v.int(50, 3_000),
                v.uuid()
            )
        }),
        shape("search.breaker", SEARCH, "warn", 0.008, |v| {
            format!(
                "circuit breaker [fielddata] estimated {} near limit 1.2GiB",
                v.size()
            )
        }),
        steady("search.facet_cache", SEARCH, "info", 0.1, |v| {
            format!(
                "facet cache hit_ratio={:.2} entries={}",
                0.8 + 0.15 * v.f(),
                v.int(8_000, 12_000)
            )
        }),
        shape("search.zero_results", SEARCH, "info", 0.6, |v| {
            format!(
                "zero results for q=\"{} {}\" locale={}",
                v.term(),
                v.pick(&["xl", "red", "kids", "sale", "2026"]),
                v.pick(&["de-DE", "de-AT", "de-CH", "en-GB"])
            )
        }),
        // notifier
        shape("notifier.email", NOTE, "info", 0.9, |v| {
            let d = v.ms(140.0);
            format!(
                "email sent to {} template={} message_id=<{}@mail.shop.example.com> in {d:.0}ms",
                v.email(),
                v.pick(&[
                    "order_confirmation",
                    "shipping_update",
                    "password_reset",
                    "newsletter"
                ]),
                v.hex(20)
            )
        }),
        shape("notifier.push", NOTE, "info", 0.8, |v| {
            format!(
                "push notification delivered device={} platform={}",
                v.hex(32),
                v.pick(&["ios", "android"])
            )
        }),
        shape("notifier.deferred", NOTE, "warn", 0.04, |v| {
            format!(
                "smtp mx{}.mailrelay.example.net:587 deferred message to {}: 451 4.7.1 try again later",
                v.int(1, 4),
                v.email()
            )
        }),
        shape("notifier.sms", NOTE, "info", 0.15, |v| {
            format!(
                "sms sent to +49******{:02} provider=twilio sid=SM{}",
                v.int(0, 99),
                v.hex(32)
            )
        }),
        shape("notifier.consume", NOTE, "info", 1.2, |v| {
            format!(
                "consumed {} events from queue notifications lag={} offset={}",
                v.int(1, 50),
                v.int(0, 30),
                v.int(1_000_000, 9_000_000)
            )
        }),
        shape("notifier.bounce", NOTE, "error", 0.025, |v| {
            format!("bounce received for {}: 550 5.1.1 user unknown", v.email())
        }),
        steady("notifier.templates", NOTE, "info", 0.01, |v| {
            format!(
                "template cache reloaded from /etc/notifier/templates ({} templates)",
                v.int(38, 41)
            )
        }),
        // db-proxy
        shape("db-proxy.acquire", DB, "info", 4.0, |v| {
            let w = v.rng.lognormal(pool_wait_median(v.mods), 0.35);
            format!(
                "connection acquired pool=primary wait_ms={w:.2} active={} idle={}",
                v.int(5, 45),
                v.int(0, 20)
            )
        }),
        shape("db-proxy.query", DB, "info", 4.0, |v| {
            let d = v.ms(3.5);
            format!(
                "query ok db=shop table={} rows={} duration={d:.2}ms client={}:{}",
                v.pick(&TABLES),
                v.int(0, 500),
                v.ip(),
                v.int(32_768, 60_999)
            )
        }),
        shape("db-proxy.slow", DB, "warn", 0.1, |v| {
            let d = v.rng.lognormal(1500.0, 0.4);
            format!(
                "slow query db=shop duration={d:.0}ms sql_hash={} rows={}",
                v.hex(16),
                v.int(1_000, 200_000)
            )
        }),
        steady("db-proxy.pool_stats", DB, "info", 1.0, |v| {
            format!(
                "pool stats primary size=50 active={} idle={} waiting={}",
                v.int(3, 40),
                v.int(2, 30),
                v.int(0, 2)
            )
        }),
        steady("db-proxy.replica_lag", DB, "info", 1.0, |v| {
            let d = v.rng.lognormal(40.0, 0.5);
            format!("replica lag on db-replica-{} is {d:.0}ms", v.int(1, 2))
        }),
        shape("db-proxy.reset", DB, "warn", 0.015, |v| {
            format!(
                "connection to 10.20.{}.{}:5432 reset by peer, reconnecting (attempt 1)",
                v.int(0, 3),
                v.int(2, 250)
            )
        }),
        steady("db-proxy.stmt_cache", DB, "info", 0.04, |v| {
            format!(
                "prepared statement cache evicted {} entries (size={})",
                v.int(10, 400),
                v.size()
            )
        }),
        shape("db-proxy.deadlock", DB, "error", 0.004, |v| {
            format!(
                "deadlock detected on table {}, transaction {} rolled back",
                v.pick(&TABLES),
                v.hex(12)
            )
        }),
    ]
}

/// The heartbeat every service logs every 30 seconds.
pub fn heartbeat(v: &mut Vars<'_>) -> String {
    let d = v.rng.lognormal(1.8, 0.3);
    format!("health check ok: status=UP checks=3/3 took {d:.1}ms")
}

/// The lines of one service's part of the daily rolling deploy, as (level, message), for
/// `version` on pods `pods`.
pub fn deploy_lines(
    v: &mut Vars<'_>,
    service: &str,
    version: &str,
    pods: &[String],
) -> Vec<(&'static str, String)> {
    let mut out = vec![(
        "info",
        format!(
            "rolling deploy started service={service} version={version} replicas={}",
            pods.len()
        ),
    )];
    for pod in pods {
        out.push((
            "info",
            format!(
                "received SIGTERM, draining {} in-flight requests",
                v.int(0, 40)
            ),
        ));
        out.push((
            "info",
            format!("shutdown complete in {:.1}s", v.rng.lognormal(2.0, 0.3)),
        ));
        out.push((
            "info",
            format!(
                "starting {service} version {version} on pod {pod} (pid {})",
                v.int(1, 40)
            ),
        ));
        out.push((
            "info",
            format!(
                "loaded config from /etc/shop/{service}.yaml ({} keys)",
                v.int(20, 60)
            ),
        ));
        out.push((
            "info",
            format!(
                "warm-up complete in {:.1}s, cache primed with {} entries",
                v.rng.lognormal(4.0, 0.3),
                v.int(5_000, 20_000)
            ),
        ));
        out.push((
            "info",
            format!(
                "readiness probe passed after {:.1}s",
                v.rng.lognormal(5.0, 0.3)
            ),
        ));
    }
    out.push((
        "info",
        format!(
            "rolling deploy finished service={service} version={version} in {}s",
            v.int(90, 200)
        ),
    ));
    out
}

/// A rare admin action: the weekly access review on Monday mornings and a few more a month;
/// the rare-pattern incident repeats it.
pub fn admin_grant(v: &mut Vars<'_>) -> String {
    format!(
        "admin {} granted role {} to user_id={} via console",
        v.pick(&[
            "ops.lead@shop.example.com",
            "support.admin@shop.example.com"
        ]),
        v.pick(&["support_agent", "catalog_editor", "refund_approver"]),
        v.uid()
    )
}

/// The gateway's line when a pod of `service` leaves its pool during a deploy.
pub fn gateway_drain(v: &mut Vars<'_>, service: &str, left: usize) -> String {
    format!(
        "upstream {service} endpoint 10.{}.{}.{}:8080 marked draining, {left} healthy endpoints left",
        v.int(0, 3),
        v.int(0, 40),
        v.int(2, 250)
    )
}

/// The message of the injected new pattern: never logged in normal operation.
pub fn tls_expired(v: &mut Vars<'_>) -> String {
    format!(
        "TLS handshake failed: certificate expired for {} (notAfter=2026-10-31T23:59:59Z) peer={}:443",
        v.pick(&[
            "partner-api.logistics.example.net",
            "edge.logistics.example.net",
            "track.logistics.example.net"
        ]),
        v.ip()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_eighty_shapes_with_unique_keys_on_every_service() {
        let all = shapes();
        // + heartbeat, the deploy lines and the injected TLS error
        assert!(all.len() + 1 + 8 + 1 >= 78, "{}", all.len());
        let mut keys: Vec<&str> = all.iter().map(|s| s.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        for (i, name) in SERVICES.iter().enumerate() {
            let n = all.iter().filter(|s| s.service == i).count();
            assert!(n >= 7, "{name} has {n} shapes");
            assert!(all
                .iter()
                .filter(|s| s.service == i)
                .all(|s| s.key.starts_with(name)));
        }
    }

    #[test]
    fn trended_medians_follow_their_mods() {
        let base = Mods::default();
        let drifted = Mods {
            pool_drift: 1.5,
            ..base.clone()
        };
        assert!((pool_wait_median(&drifted) / pool_wait_median(&base) - 1.5).abs() < 1e-9);
        let trended = Mods {
            search_trend_ms: 300.0,
            ..base.clone()
        };
        assert!(
            (search_latency_median(&trended) - search_latency_median(&base) - 300.0).abs() < 1e-9
        );
    }
}
