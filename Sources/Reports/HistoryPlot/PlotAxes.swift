// The axes of the history plot: study dates along x, diameters along y.
import Foundation

/// A diameter axis from 0 to a round maximum, with ticks at a round step.
struct DiameterAxis: Equatable {
    /// The top of the axis in millimetres, a multiple of `step`.
    let maximum: Double
    /// The distance between ticks in millimetres: 1, 2 or 5 times a power of ten.
    let step: Double

    /// Creates the axis for data up to `largest` mm. The step is the smallest of 1, 2, 5 or 10
    /// times a power of ten that makes at most five intervals. The maximum is `largest` rounded
    /// up to a multiple of the step, so 23.4 mm gives step 5 and maximum 25. Data of 0 mm, or
    /// none, gets the axis 0 to 10 mm.
    init(largest: Double) {
        let top = largest > 0 ? largest : 10
        let rough = top / 5
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        maximum = (top / step).rounded(.up) * step
    }

    /// The tick values from 0 to `maximum`.
    var ticks: [Double] {
        (0...Int((maximum / step).rounded())).map { Double($0) * step }
    }
}

/// A time axis through the study dates, proportional to the time between them.
struct DateAxis {
    /// The distinct dates, oldest first.
    let dates: [Date]

    init(dates: [Date]) {
        self.dates = Array(Set(dates)).sorted()
    }

    /// Returns where `date` falls between 0 (oldest date) and 1 (newest). A single date sits at 0.5.
    func fraction(_ date: Date) -> Double {
        guard let first = dates.first, let last = dates.last, last > first else { return 0.5 }
        return date.timeIntervalSince(first) / last.timeIntervalSince(first)
    }

    /// Returns `date` as YYYY-MM-DD in UTC.
    static func label(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
