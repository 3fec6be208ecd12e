//! Instance-hours a month for a SageMaker real-time fleet: always on, or autoscaled from a
//! simulated workday.

/// Hours in an average month (365.25 × 24 / 12), as AWS's calculator uses.
pub const HOURS_IN_MONTH: f64 = 730.0;

/// Days in an average month.
pub const DAYS_IN_MONTH: f64 = 365.25 / 12.0;

/// An always-on fleet: `instances` × 730 h.
pub fn always_on_hours(instances: u32) -> f64 {
    f64::from(instances) * HOURS_IN_MONTH
}

/// An autoscaled fleet: the simulated workday's instance-hours on each workday, and the
/// minimum fleet around the clock on the other days of the month.
pub fn autoscaled_hours(workday_instance_hours: f64, workdays: f64, min_instances: u32) -> f64 {
    let other_days = (DAYS_IN_MONTH - workdays).max(0.0);
    workday_instance_hours * workdays + f64::from(min_instances) * 24.0 * other_days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_hours_by_hand() {
        assert_eq!(always_on_hours(3), 2_190.0);
        // 40 instance-hours on each of 22 workdays; 1 instance on the other 8.4375 days.
        let hours = autoscaled_hours(40.0, 22.0, 1);
        assert!((hours - (880.0 + 24.0 * (30.4375 - 22.0))).abs() < 1e-9);
        // A fleet pinned at its minimum all day bills the same as always on.
        let pinned = autoscaled_hours(2.0 * 24.0, 22.0, 2);
        assert!((pinned - 2.0 * 24.0 * DAYS_IN_MONTH).abs() < 1e-9);
        let one = autoscaled_hours(24.0, 22.0, 1);
        assert!(
            (always_on_hours(1) - one).abs() < 1.0,
            "730 h ≈ 24 h × 30.44 d"
        );
    }
}
