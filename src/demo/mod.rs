//! Demo: a realistic multi-service log week with seasonality and injected incidents.
