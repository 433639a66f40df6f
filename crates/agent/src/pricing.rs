//! What tokens cost (`model/price_*_per_mtok`, dollars per million tokens, all optional), and
//! the tokens a question is charged against a caller's daily budget.
//!
//! Nothing is invented: with no input and output price there is no cost, and a cache read or
//! write with no price of its own makes the cost unknown rather than guessed. Budgets count
//! tokens, not dollars, so they work with no price at all; with prices, a cache read is
//! charged at its price's share of the input price (Bedrock bills Claude's cache reads at a
//! tenth of input), so the budget follows what the tokens cost.

use common::{Settings, ToolError};

use crate::model::Usage;

/// The configured prices, in dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prices {
    /// `model/price_input_per_mtok`.
    pub input: Option<f64>,
    /// `model/price_output_per_mtok`.
    pub output: Option<f64>,
    /// `model/price_cache_read_per_mtok`.
    pub cache_read: Option<f64>,
    /// `model/price_cache_write_per_mtok`.
    pub cache_write: Option<f64>,
}

impl Prices {
    /// From configuration; a price that is not a finite number ≥ 0 is a `CONFIG_ERROR`.
    pub fn from_settings(s: &Settings) -> Result<Self, ToolError> {
        let price = |key: &str| -> Result<Option<f64>, ToolError> {
            match s.parse::<f64>(key)? {
                Some(p) if !(p.is_finite() && p >= 0.0) => Err(ToolError::config(format!(
                    "configuration key `{key}` must be a price of 0 or more dollars per million tokens"
                ))),
                p => Ok(p),
            }
        };
        Ok(Self {
            input: price("model/price_input_per_mtok")?,
            output: price("model/price_output_per_mtok")?,
            cache_read: price("model/price_cache_read_per_mtok")?,
            cache_write: price("model/price_cache_write_per_mtok")?,
        })
    }

    /// What `usage` cost in dollars, when every kind of token it used has a price.
    pub fn cost_usd(&self, usage: &Usage) -> Option<f64> {
        let part = |tokens: u64, price: Option<f64>| match (tokens, price) {
            (0, _) => Some(0.0),
            (n, Some(p)) => Some(n as f64 * p),
            (_, None) => None,
        };
        let total = self.input.and(self.output).and_then(|_| {
            Some(
                part(usage.input_tokens, self.input)?
                    + part(usage.output_tokens, self.output)?
                    + part(usage.cache_read_input_tokens, self.cache_read)?
                    + part(usage.cache_write_input_tokens, self.cache_write)?,
            )
        })?;
        Some(total / 1_000_000.0)
    }

    /// The tokens `usage` counts against a daily budget: input and output, plus cache reads
    /// and writes at their price's ratio to the input price when both are set, else as input.
    pub fn budget_tokens(&self, usage: &Usage) -> u64 {
        let ratio = |price: Option<f64>| match (price, self.input) {
            (Some(p), Some(input)) if input > 0.0 => p / input,
            _ => 1.0,
        };
        let weighted =
            |tokens: u64, price: Option<f64>| (tokens as f64 * ratio(price)).ceil() as u64;
        usage.input_tokens
            + usage.output_tokens
            + weighted(usage.cache_read_input_tokens, self.cache_read)
            + weighted(usage.cache_write_input_tokens, self.cache_write)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn usage(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output + read + write,
            cache_read_input_tokens: read,
            cache_write_input_tokens: write,
        }
    }

    fn prices(pairs: &[(&str, &str)]) -> Result<Prices, ToolError> {
        let values: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (format!("model/price_{k}_per_mtok"), (*v).to_owned()))
            .collect();
        Prices::from_settings(&Settings::from_values(values))
    }

    #[test]
    fn the_cost_is_each_kind_of_token_at_its_price() {
        // Claude 3.5 Sonnet on Bedrock: $3 in, $15 out, $0.30 cache read, $3.75 cache write.
        let p = prices(&[
            ("input", "3"),
            ("output", "15"),
            ("cache_read", "0.30"),
            ("cache_write", "3.75"),
        ])
        .unwrap();
        let cost = p.cost_usd(&usage(10_000, 2_000, 50_000, 4_000)).unwrap();
        let expected = (10_000.0 * 3.0 + 2_000.0 * 15.0 + 50_000.0 * 0.30 + 4_000.0 * 3.75) / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{cost} != {expected}");
    }

    #[test]
    fn no_cost_is_invented() {
        assert_eq!(Prices::default().cost_usd(&usage(1, 1, 0, 0)), None);
        let only_in_out = prices(&[("input", "3"), ("output", "15")]).unwrap();
        assert_eq!(
            only_in_out.cost_usd(&usage(1, 1, 5, 0)),
            None,
            "cache read unpriced"
        );
        assert!(only_in_out.cost_usd(&usage(1_000_000, 0, 0, 0)).unwrap() == 3.0);
        assert_eq!(
            prices(&[("input", "3")])
                .unwrap()
                .cost_usd(&usage(1, 0, 0, 0)),
            None
        );
    }

    #[test]
    fn cache_tokens_count_at_their_price_ratio_or_as_input() {
        let u = usage(100, 50, 1_000, 10);
        assert_eq!(Prices::default().budget_tokens(&u), 100 + 50 + 1_000 + 10);
        let p = prices(&[
            ("input", "3"),
            ("cache_read", "0.30"),
            ("cache_write", "3.75"),
        ])
        .unwrap();
        assert_eq!(p.budget_tokens(&u), 100 + 50 + 100 + 13);
    }

    #[test]
    fn a_price_must_be_a_number_of_zero_or_more() {
        for bad in ["-1", "NaN", "inf", "cheap"] {
            let e = prices(&[("output", bad)]).unwrap_err();
            assert_eq!(e.code, common::ErrorCode::ConfigError, "{bad}");
            assert!(
                e.message.contains("model/price_output_per_mtok"),
                "{bad}: {e}"
            );
        }
        assert_eq!(prices(&[("input", "0")]).unwrap().input, Some(0.0));
    }
}
