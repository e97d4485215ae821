//! The synthetic latency slot shared by `tests/drift.rs` and `benches/drift.rs`: log-normal
//! values around a daily cycle, with an optional daily deploy hour, creep and slow wander.

#![allow(dead_code)]

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use logwarden::detect::drift::SlotKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

/// Bucket length in minutes.
pub const BUCKET_MIN: i64 = 10;
/// Log-scale standard deviation of the values around their median.
pub const SIGMA: f64 = 0.3;

pub fn how(at: DateTime<Utc>) -> usize {
    at.weekday().num_days_from_monday() as usize * 24 + at.hour() as usize
}

/// The synthetic latency slot.
pub struct Gen {
    pub rng: StdRng,
    /// A slow hour (values x1.8) at 14:00-15:00 every weekday: the rolling deploy.
    pub deploy: bool,
    /// From this time, values grow by `creep` per hour (compounded).
    pub creep_from: Option<DateTime<Utc>>,
    pub creep: f64,
    /// Hourly innovation sd of a slow multiplicative wander (AR(1) on the log scale,
    /// coefficient 0.8): neighbouring buckets deviate together for hours.
    pub wander: f64,
    wander_state: f64,
    wander_hour: Option<DateTime<Utc>>,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            deploy: false,
            creep_from: None,
            creep: 0.0,
            wander: 0.0,
            wander_state: 0.0,
            wander_hour: None,
        }
    }

    /// The true median at `at`: a daily cycle (peak mid-afternoon), quieter weekends.
    pub fn median(&self, at: DateTime<Utc>) -> f64 {
        let hod = at.hour() as f64 + at.minute() as f64 / 60.0;
        let daily = 1.0 + 0.25 * (std::f64::consts::TAU * (hod - 9.0) / 24.0).sin();
        let weekend = if at.weekday().num_days_from_monday() >= 5 {
            0.9
        } else {
            1.0
        };
        let mut m = 120.0 * daily * weekend;
        if self.deploy && at.weekday().num_days_from_monday() < 5 && at.hour() == 14 {
            m *= 1.8;
        }
        if let Some(from) = self.creep_from {
            if at >= from {
                let hours = (at - from).num_seconds() as f64 / 3600.0;
                m *= (1.0 + self.creep).powf(hours);
            }
        }
        m
    }

    /// The values of the bucket starting at `at`: busy days, quiet nights.
    pub fn bucket(&mut self, at: DateTime<Utc>) -> Vec<f64> {
        let hod = at.hour() as f64;
        let busy = 0.5 + 0.5 * (std::f64::consts::TAU * (hod - 9.0) / 24.0).sin().max(-0.6);
        let n = (60.0 * busy * self.rng.random_range(0.8..1.2)).round() as usize;
        let normal = Normal::new(0.0, SIGMA).unwrap();
        let mut m = self.median(at);
        if self.wander > 0.0 {
            let hour = at - Duration::minutes(i64::from(at.minute()));
            if self.wander_hour != Some(hour) {
                let step = Normal::new(0.0, self.wander).unwrap();
                self.wander_state = 0.8 * self.wander_state + step.sample(&mut self.rng);
                self.wander_hour = Some(hour);
            }
            m *= self.wander_state.exp();
        }
        (0..n)
            .map(|_| m * normal.sample(&mut self.rng).exp())
            .collect()
    }
}

pub const KEY: SlotKey<'static> = SlotKey {
    service: "checkout",
    template: "request done in <*> ms",
    slot_name: "latency_ms",
};
