import Foundation
import Lesions
import Testing

@Suite struct LIRADSTests {
    /// Every cell of the LI-RADS v2018 CT/MRI diagnostic table, written out by hand:
    /// (APHE, size mm, washout, capsule, threshold growth, expected category).
    static let table: [(ArterialEnhancement, Double, Bool, Bool, Bool, LIRADSCategory)] = [
        // No APHE, < 20 mm: 0 features LR-3, 1 feature LR-3, 2+ features LR-4.
        (.none, 15, false, false, false, .lr3),
        (.none, 15, true, false, false, .lr3),
        (.none, 15, false, true, false, .lr3),
        (.none, 15, false, false, true, .lr3),
        (.none, 15, true, true, false, .lr4),
        (.none, 19.9, true, true, true, .lr4),
        // No APHE, >= 20 mm: LR-3, LR-4, LR-4.
        (.none, 20, false, false, false, .lr3),
        (.none, 20, true, false, false, .lr4),
        (.none, 35, false, true, false, .lr4),
        (.none, 35, true, true, true, .lr4),
        // Nonrim APHE, < 10 mm: LR-3, LR-4, LR-4.
        (.nonrim, 8, false, false, false, .lr3),
        (.nonrim, 8, true, false, false, .lr4),
        (.nonrim, 9.9, false, true, false, .lr4),
        (.nonrim, 8, true, true, false, .lr4),
        // Nonrim APHE, 10-19 mm: LR-3; one feature LR-4 if capsule, LR-5 if washout or growth; 2+ LR-5.
        (.nonrim, 10, false, false, false, .lr3),
        (.nonrim, 15, false, true, false, .lr4),
        (.nonrim, 15, true, false, false, .lr5),
        (.nonrim, 15, false, false, true, .lr5),
        (.nonrim, 19.9, true, true, false, .lr5),
        (.nonrim, 12, false, true, true, .lr5),
        // Nonrim APHE, >= 20 mm: LR-4, LR-5, LR-5.
        (.nonrim, 20, false, false, false, .lr4),
        (.nonrim, 20, false, true, false, .lr5),
        (.nonrim, 45, true, false, false, .lr5),
        (.nonrim, 45, true, true, true, .lr5),
        // Rim APHE is LR-M whatever else is present.
        (.rim, 30, false, false, false, .lrM),
        (.rim, 8, true, true, true, .lrM),
    ]

    @Test(arguments: 0..<table.count)
    func diagnosticTableCell(_ index: Int) {
        let (aphe, size, washout, capsule, growth, expected) = Self.table[index]
        let features = MajorFeatures(arterialEnhancement: aphe, sizeMillimetres: size, nonperipheralWashout: washout,
                                     enhancingCapsule: capsule, thresholdGrowth: growth)
        #expect(liradsCategory(features) == expected, "APHE \(aphe), \(size) mm, washout \(washout), capsule \(capsule), growth \(growth)")
    }

    @Test func thresholdGrowthNeedsFiftyPercentInSixMonths() throws {
        let start = try Date("2026-01-15T00:00:00Z", strategy: .iso8601)
        let fiveMonths = try Date("2026-06-15T00:00:00Z", strategy: .iso8601)
        let sixMonths = try Date("2026-07-15T00:00:00Z", strategy: .iso8601)
        let sevenMonths = try Date("2026-08-15T00:00:00Z", strategy: .iso8601)
        let baseline = SizeMeasurement(date: start, diameterMillimetres: 20)

        #expect(hasThresholdGrowth(from: baseline, to: SizeMeasurement(date: fiveMonths, diameterMillimetres: 30)))
        #expect(hasThresholdGrowth(from: baseline, to: SizeMeasurement(date: sixMonths, diameterMillimetres: 30)))
        #expect(!hasThresholdGrowth(from: baseline, to: SizeMeasurement(date: sevenMonths, diameterMillimetres: 40)))
        #expect(!hasThresholdGrowth(from: baseline, to: SizeMeasurement(date: fiveMonths, diameterMillimetres: 29.9)))
        #expect(hasThresholdGrowth(history: [baseline, SizeMeasurement(date: sevenMonths, diameterMillimetres: 31),
                                             SizeMeasurement(date: fiveMonths, diameterMillimetres: 21)]) == false)
        #expect(hasThresholdGrowth(history: [SizeMeasurement(date: fiveMonths, diameterMillimetres: 20),
                                             SizeMeasurement(date: sevenMonths, diameterMillimetres: 30)]))
    }
}
