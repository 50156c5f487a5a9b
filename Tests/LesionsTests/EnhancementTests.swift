import Foundation
import Imaging
import Lesions
import Testing

@Suite struct EnhancementTests {
    /// HU per phase (NC, AP, PV, DP) for liver, a lesion's core and its outer 2 mm shell.
    struct Pattern {
        let liver: [Float]
        let core: [Float]
        let shell: [Float]
    }

    static let liver: [Float] = [55, 75, 115, 95]

    /// A 16 mm sphere in liver, noise-free, with the pattern's intensities.
    func study(_ pattern: Pattern, radius: Double = 8) -> (labels: Volume<UInt8>, phases: [Phase: Volume<Float>], lesion: LesionComponent) {
        let geometry = Geometry(size: VolumeSize(40, 40, 40), spacing: Vector3(0.8, 0.8, 0.8))
        var labels = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.liver)
        var phases: [Phase: Volume<Float>] = [:]
        let order: [Phase] = [.nonContrast, .arterial, .portalVenous, .delayed]
        for phase in order { phases[phase] = Volume<Float>(geometry: geometry, repeating: pattern.liver[order.firstIndex(of: phase)!]) }
        let centre = Vector3(15.6, 15.6, 15.6)
        for k in 0..<40 {
            for j in 0..<40 {
                for i in 0..<40 {
                    let distance = length(geometry.world(atIndex: Vector3(Double(i), Double(j), Double(k))) - centre)
                    guard distance <= radius else { continue }
                    labels[i, j, k] = SegmentationLabel.lesion
                    for (index, phase) in order.enumerated() {
                        phases[phase]![i, j, k] = distance > radius - 2 ? pattern.shell[index] : pattern.core[index]
                    }
                }
            }
        }
        return (labels, phases, connectedLesions(in: labels)[0])
    }

    func features(_ pattern: Pattern, drop: Phase? = nil) -> EnhancementFeatures {
        var (labels, phases, lesion) = study(pattern)
        if let drop { phases[drop] = nil }
        return enhancementFeatures(regionStatistics(of: lesion, labels: labels, phases: phases), isCT: true)
    }

    @Test func hccShowsAPHEWashoutCapsule() {
        let hcc = Pattern(liver: Self.liver, core: [40, 110, 90, 80], shell: [40, 110, 130, 130])
        let found = features(hcc)
        #expect(found.arterialEnhancement == .nonrim)
        #expect(found.nonperipheralWashout)
        #expect(found.enhancingCapsule)
        let category = liradsCategory(MajorFeatures(arterialEnhancement: found.arterialEnhancement, sizeMillimetres: 16,
                                                    nonperipheralWashout: found.nonperipheralWashout,
                                                    enhancingCapsule: found.enhancingCapsule, thresholdGrowth: false))
        #expect(category == .lr5)
    }

    @Test func metastasisShowsRimAPHE() {
        let metastasis = Pattern(liver: Self.liver, core: [35, 55, 70, 75], shell: [35, 90, 100, 75])
        #expect(features(metastasis).arterialEnhancement == .rim)
    }

    @Test func cystShowsNothing() {
        let cyst = Pattern(liver: Self.liver, core: [5, 5, 5, 5], shell: [5, 5, 5, 5])
        let found = features(cyst)
        #expect(found.arterialEnhancement == ArterialEnhancement.none)
        // Darker than liver in every phase, but never iso or brighter first: not washout.
        #expect(!found.nonperipheralWashout)
        #expect(!found.enhancingCapsule)
    }

    @Test func fnhEnhancesWithoutWashout() {
        let fnh = Pattern(liver: Self.liver, core: [50, 120, 115, 95], shell: [50, 120, 115, 95])
        let found = features(fnh)
        #expect(found.arterialEnhancement == .nonrim)
        #expect(!found.nonperipheralWashout)
        #expect(!found.enhancingCapsule)
    }

    @Test func missingArterialPhaseIsNotAssessed() {
        let hcc = Pattern(liver: Self.liver, core: [40, 110, 90, 80], shell: [40, 110, 130, 130])
        let found = features(hcc, drop: .arterial)
        #expect(found.arterialEnhancement == .notAssessed)
        #expect(!found.nonperipheralWashout)
        #expect(found.enhancingCapsule)
        // LI-RADS cannot categorise the observation without its arterial phase.
        #expect(liradsCategory(MajorFeatures(arterialEnhancement: found.arterialEnhancement, sizeMillimetres: 25,
                                             nonperipheralWashout: found.nonperipheralWashout, enhancingCapsule: found.enhancingCapsule,
                                             thresholdGrowth: false)) == .lrNC)
    }

    @Test func unknownEnhancementDecodesAsNotAssessed() throws {
        let decoded = try JSONDecoder().decode([ArterialEnhancement].self, from: Data(#"["nonrim", "not assessed", "washout-only"]"#.utf8))
        #expect(decoded == [.nonrim, .notAssessed, .notAssessed])
    }

    @Test func reportCarriesCategoryAndProbabilities() throws {
        let hcc = Pattern(liver: Self.liver, core: [40, 110, 90, 80], shell: [40, 110, 130, 130])
        let (labels, phases, _) = study(hcc)
        let probabilities = ["HCC": 0.9, "metastasis": 0.1]
        let reports = analyzeLesions(connectedLesions(in: labels), labels: labels, phases: phases, isCT: true,
                                     classProbabilities: [0: probabilities])
        let report = try #require(reports.first)
        #expect(reports.count == 1)
        #expect(report.category == .lr5)
        #expect(report.classProbabilities == probabilities)
        #expect(report.statistics.keys.sorted() == ["AP", "DP", "NC", "PV"])
    }

    @Test func regionsSplitRimAndCore() {
        let (labels, phases, lesion) = study(Pattern(liver: Self.liver, core: [1, 1, 1, 1], shell: [2, 2, 2, 2]))
        let statistics = regionStatistics(of: lesion, labels: labels, phases: [.nonContrast: phases[.nonContrast]!])[.nonContrast]!
        // The 2.5 mm rim holds the 2 mm shell and some core; the core holds no shell voxel.
        #expect(statistics.core.mean == 1)
        #expect(statistics.rim.mean > 1.5)
        #expect(statistics.liverRing.mean == 55)
        #expect(statistics.core.voxelCount + statistics.rim.voxelCount == lesion.voxels.count)
    }
}
