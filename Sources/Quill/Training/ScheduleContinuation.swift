/// How a resumed run's learning-rate schedule goes on: as saved, or planned again over a longer run.
///
/// A run whose decay was planned from its own limit (no explicit `decaySteps`) and is resumed with a
/// limit past the decay's end gets its decay planned again over the new total, so the learning rate
/// does not sit at its floor for the whole extension. A plan from an explicit `decaySteps` is kept, and
/// so is every plan when the limits are the same, so an interrupted run resumes bit for bit.
///
/// Whether the plan came from the limit is read from the saved settings: a fresh run records the
/// horizon it uses as `decaySteps`, so the plan came from the limit when that horizon is the saved
/// step (or epoch) limit, or when it is 0 (only a time limit bounded the run). A `decaySteps` given
/// equal to the step limit is the same plan and is treated the same way; giving `decaySteps` again
/// when resuming keeps the plan as saved.
public struct ScheduleContinuation: Sendable {
    /// The resumed run's settings: the saved ones with the new limits (and the new horizon, if planned again).
    public var configuration: TrainingConfiguration
    public var schedule: LearningRateSchedule
    /// Whether the horizon is settled; false when a time limit will set it from the measured speed.
    public var scheduleFixed: Bool
    /// The change of plan, or nil when the saved plan goes on.
    public var change: ScheduleChange?

    /// The schedule of a run resumed with `limits`.
    ///
    /// - Parameters:
    ///   - saved: the settings of the saved run.
    ///   - schedule: the saved schedule, and `scheduleFixed` whether its horizon was settled.
    ///   - step: optimizer steps already taken.
    ///   - limits: the settings given now; only the ones that may change on resume are read.
    ///   - windowsPerEpoch: windows of one pass over the training text.
    ///   - keepPlan: true to keep the saved plan whatever the limits (`decaySteps` given again).
    public static func resuming(saved: TrainingConfiguration, schedule: LearningRateSchedule, scheduleFixed: Bool,
                                step: Int, limits: TrainingConfiguration, windowsPerEpoch: Int,
                                keepPlan: Bool = false) -> ScheduleContinuation {
        var kept = ScheduleContinuation(configuration: saved.resumed(with: limits), schedule: schedule,
                                        scheduleFixed: scheduleFixed, change: nil)
        guard saved.decay != .none, !keepPlan else { return kept }
        let savedLimit = saved.totalSteps(windowsPerEpoch: windowsPerEpoch)
        guard saved.decaySteps == 0 || saved.decaySteps == savedLimit else { return kept }  // explicit: kept as given
        let oldEnd = scheduleFixed ? schedule.totalSteps : nil
        if let newEnd = kept.configuration.totalSteps(windowsPerEpoch: windowsPerEpoch) {
            guard newEnd > step, newEnd > (oldEnd ?? 0) else { return kept }  // reached, or no further: as saved
            kept.configuration.decaySteps = newEnd
            kept.schedule = kept.configuration.learningRateSchedule(windowsPerEpoch: windowsPerEpoch)
            kept.scheduleFixed = true
            kept.change = ScheduleChange(previousEnd: oldEnd, newEnd: newEnd)
        } else if kept.configuration.timeLimit > 0, let oldEnd {
            // Only time bounds the new run: the trainer plans the horizon from its speed, never before oldEnd.
            kept.configuration.decaySteps = 0
            kept.scheduleFixed = false
            kept.change = ScheduleChange(previousEnd: oldEnd, newEnd: nil)
        }
        return kept
    }
}

/// A learning-rate decay planned again when a run was continued past its end.
public struct ScheduleChange: Equatable, Sendable, CustomStringConvertible {
    /// The step at which the saved decay ended, or nil when the time limit had not yet settled it.
    public var previousEnd: Int?
    /// The step at which the new decay ends, or nil when the time limit will settle it from the speed.
    public var newEnd: Int?

    public init(previousEnd: Int?, newEnd: Int?) {
        self.previousEnd = previousEnd
        self.newEnd = newEnd
    }

    public var description: String {
        let before = previousEnd.map { "was planned to end at step \($0)" } ?? "had no end yet"
        guard let newEnd else {
            return "The learning-rate decay \(before); it is planned again to end with this run's time limit."
        }
        return "The learning-rate decay \(before); it is planned again to end at step \(newEnd), the new limit."
    }
}
