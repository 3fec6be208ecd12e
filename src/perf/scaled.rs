//! A server `k` times slower (or, below 1, faster) everywhere: every time the model holds —
//! decode step, prefill, overheads, the measured levels it is anchored to — multiplied by `k`;
//! rates divided by it; counts (batch slots, experts) and relative shapes (noise, a TTFT
//! knee's relative rise) unchanged. What a plan's capacity would be if the server ran at one
//! end of its fit's interval. Pure.

use super::model::{TpotForm, TpotModel, TtftForm, TtftModel};
use super::predict::PerfModel;

fn tpot(m: &TpotModel, k: f64) -> TpotModel {
    TpotModel {
        t0_s: m.t0_s * k,
        t1_s: m.t1_s * k,
        t2_s: m.t2_s * k,
        // The queue form's θ is a number of tokens; the roofline forms' a rate of them.
        theta: m.theta.map(|t| match m.form {
            TpotForm::Queue | TpotForm::Linear => t,
            TpotForm::Roofline | TpotForm::SmoothRoofline => t / k,
        }),
        ..m.clone()
    }
}

fn ttft(m: &TtftModel, k: f64) -> TtftModel {
    TtftModel {
        a0_s: m.a0_s * k,
        a1_s: m.a1_s * k,
        // prefill_load's a2 is seconds per competing token; concurrency_power's a relative rise.
        a2: match m.form {
            TtftForm::PrefillLoad => m.a2 * k,
            TtftForm::Flat | TtftForm::ConcurrencyPower => m.a2,
        },
        ..m.clone()
    }
}

impl PerfModel {
    /// This model with every time multiplied by `k` (> 0, finite; anything else leaves it as
    /// it is).
    pub fn time_scaled(&self, k: f64) -> PerfModel {
        if !(k.is_finite() && k > 0.0) {
            return self.clone();
        }
        let mut m = self.clone();
        m.tpot = tpot(&self.tpot, k);
        m.ttft = ttft(&self.ttft, k);
        if let Some(s) = m.server.as_mut() {
            s.step = tpot(&s.step, k);
            s.step_s_per_mean_context *= k;
            s.prefill_s_per_token *= k;
            s.prefill_s_per_request *= k;
            s.attention_s_per_token2 *= k;
            s.overhead_s *= k;
            if let Some(e) = s.experts.as_mut() {
                e.step_s_all_experts *= k;
            }
            // The roofline floors say what the hardware cannot beat; a faster end of the
            // interval is a statement about the fit, so the floors are left out rather than
            // scaled with it.
            s.floors = None;
        }
        for a in &mut m.measured_levels {
            a.ttft_s = a.ttft_s.map(|t| t * k);
            a.tpot_s = a.tpot_s.map(|t| t * k);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use crate::perf::Profile;

    /// Against predictions computed independently: a model twice as slow predicts twice the
    /// TPOT and TTFT at every operating point, whatever its form and mechanism (its steady
    /// state is a fixed point in time units, so doubling every time doubles it).
    #[test]
    fn a_server_twice_as_slow_predicts_twice_the_latencies() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/sagemaker-ml-g5-12xlarge.toml"
        ))
        .expect("a built-in profile");
        let profile: Profile = toml::from_str(&text).expect("it parses");
        let slow = profile.model.time_scaled(2.0);
        for (n, p, o) in [
            (1.0, 256.0, 128.0),
            (8.0, 2048.0, 256.0),
            (24.0, 512.0, 64.0),
        ] {
            let a = profile.model.predict(n, p, o).expect("predicts");
            let b = slow.predict(n, p, o).expect("predicts");
            assert!(
                (b.tpot_p50_s() / a.tpot_p50_s() - 2.0).abs() < 0.02,
                "TPOT at n={n}: {} against {}",
                b.tpot_p50_s(),
                a.tpot_p50_s()
            );
            assert!(
                (b.ttft_p50_s() / a.ttft_p50_s() - 2.0).abs() < 0.02,
                "TTFT at n={n}: {} against {}",
                b.ttft_p50_s(),
                a.ttft_p50_s()
            );
        }
        assert_eq!(profile.model.time_scaled(f64::NAN), profile.model);
    }
}
