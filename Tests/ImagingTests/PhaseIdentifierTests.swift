// Phase identification from descriptions in several languages, contrast agent, timing,
// attenuation, and the user mapping that overrides them all.
import Testing
@testable import Imaging

struct PhaseIdentifierTests {
    static let descriptions: [(String, Phase)] = [
        ("Abdomen nativ 5mm", .nonContrast), ("LIVER PLAIN", .nonContrast), ("Sin contraste", .nonContrast),
        ("Leber arteriell", .arterial), ("Phase artérielle", .arterial), ("LATE ARTERIAL 2.5", .arterial), ("ART 3mm", .arterial),
        ("Portal venous phase", .portalVenous), ("Portalvenös", .portalVenous), ("Fase venosa portale", .portalVenous), ("PV", .portalVenous),
        ("Delayed 3 min", .delayed), ("Spätphase", .delayed), ("Phase tardive", .delayed), ("Fase tardía", .delayed), ("equilibrium", .delayed),
    ]

    @Test("keyword names the phase", arguments: descriptions.map(\.0))
    func keywordNamesPhase(description: String) throws {
        let expected = try #require(Self.descriptions.first { $0.0 == description }).1
        #expect(PhaseKeywords.phase(in: description)?.phase == expected)
    }

    @Test func wordsContainingShortKeysDoNotMatch() {
        #expect(PhaseKeywords.phase(in: "Thorax apical") == nil)
        #expect(PhaseKeywords.phase(in: "Chest CTA") == nil)
    }

    @Test func timeOrderDecidesThreeEnhancedSeries() {
        let candidates = [
            PhaseCandidate(seriesInstanceUID: "c", seriesDescription: "Abdomen 5mm", contrastAgent: "IOMEPROL", acquisitionTime: 36_300),
            PhaseCandidate(seriesInstanceUID: "a", seriesDescription: "Abdomen 5mm", contrastAgent: "IOMEPROL", acquisitionTime: 36_100),
            PhaseCandidate(seriesInstanceUID: "n", seriesDescription: "Abdomen 5mm", acquisitionTime: 36_000),
            PhaseCandidate(seriesInstanceUID: "b", seriesDescription: "Abdomen 5mm", contrastAgent: "IOMEPROL", acquisitionTime: 36_140),
        ]
        let result = PhaseIdentifier.identify(candidates)
        #expect(result["n"]?.phase == .nonContrast)
        #expect(result["a"]?.phase == .arterial)
        #expect(result["b"]?.phase == .portalVenous)
        #expect(result["c"]?.phase == .delayed)
    }

    @Test func keywordsThenTimeFillTheRest() {
        let candidates = [
            PhaseCandidate(seriesInstanceUID: "x", seriesDescription: "arterial", contrastAgent: "yes", acquisitionTime: 100),
            PhaseCandidate(seriesInstanceUID: "y", seriesDescription: "abdomen", contrastAgent: "yes", acquisitionTime: 300),
        ]
        let result = PhaseIdentifier.identify(candidates)
        #expect(result["x"]?.phase == .arterial)
        #expect(result["y"] == PhaseAssignment(phase: nil, evidence: "contrast-enhanced, but no keyword, timing or mapping decides the phase"))
    }

    @Test func userMappingWins() {
        let candidates = [
            PhaseCandidate(seriesInstanceUID: "1.2.3", seriesNumber: 4, seriesDescription: "arterial", contrastAgent: "yes", aortaHU: 310, portalVeinHU: 120),
            PhaseCandidate(seriesInstanceUID: "1.2.4", seriesNumber: 5, seriesDescription: "nativ"),
        ]
        let result = PhaseIdentifier.identify(candidates, userMapping: ["4": .delayed, "1.2.4": .portalVenous])
        #expect(result["1.2.3"] == PhaseAssignment(phase: .delayed, evidence: "user mapping"))
        #expect(result["1.2.4"]?.phase == .portalVenous)
    }

    @Test func attenuationOverridesKeyword() {
        // Typical values from practice: aorta / portal vein NC 40/40, AP 300/130, PV 170/190, DP 120/130 HU.
        let values: [(Double, Double, Phase)] = [(40, 40, .nonContrast), (300, 130, .arterial), (170, 190, .portalVenous), (120, 130, .delayed)]
        for (aorta, portal, phase) in values {
            let candidate = PhaseCandidate(seriesInstanceUID: "s", seriesDescription: "arterial", contrastAgent: "yes", aortaHU: aorta, portalVeinHU: portal)
            #expect(PhaseIdentifier.identify([candidate])["s"]?.phase == phase)
        }
    }

    static func dataSet(_ values: [(DicomTag, ValueRepresentation, String)]) -> DataSet {
        var dataSet = DataSet(file: "attributes")
        for (tag, vr, text) in values {
            dataSet.elements[tag] = DataElement(tag: tag, vr: vr, offset: 0, value: .bytes(ArraySlice(Array(text.utf8))))
        }
        return dataSet
    }

    @Test func acquisitionTimeSources() {
        // 09:30:15.5 is 9 * 3600 + 30 * 60 + 15.5 = 34215.5 s after midnight.
        let fromTime = SeriesAttributes(Self.dataSet([(.acquisitionTime, .TM, "093015.5"), (.seriesTime, .TM, "080000")]))
        #expect(fromTime.acquisitionTime == 34215.5)
        let fromDateTime = SeriesAttributes(Self.dataSet([(.acquisitionDateTime, .DT, "20260101093015.5"), (.seriesTime, .TM, "080000")]))
        #expect(fromDateTime.acquisitionTime == 34215.5)
        let fromSeriesTime = SeriesAttributes(Self.dataSet([(.seriesTime, .TM, "08:00:01")]))
        #expect(fromSeriesTime.acquisitionTime == 28801)
        let contrast = SeriesAttributes(Self.dataSet([(.contrastBolusAgent, .LO, "  ")]))
        #expect(contrast.contrastAgent == nil)
    }

    @Test func timesWithoutDatesAcrossMidnight() {
        // No dates: the arterial series at 23:59:40 comes before those at 00:00:20 and 00:02:00.
        let series = [
            PhaseCandidate(seriesInstanceUID: "p", seriesDescription: "Abdomen", contrastAgent: "IOMEPROL", acquisitionTime: 20),
            PhaseCandidate(seriesInstanceUID: "a", seriesDescription: "Abdomen", contrastAgent: "IOMEPROL", acquisitionTime: 86_380),
            PhaseCandidate(seriesInstanceUID: "d", seriesDescription: "Abdomen", contrastAgent: "IOMEPROL", acquisitionTime: 120),
            PhaseCandidate(seriesInstanceUID: "n", seriesDescription: "Abdomen", acquisitionTime: 86_280),
        ]
        let phases = PhaseIdentifier.identify(series).mapValues(\.phase)
        #expect(phases == ["n": .nonContrast, "a": .arterial, "p": .portalVenous, "d": .delayed])
    }

    @Test func acquisitionAfterMidnightCountsFromStudyDate() {
        // A study begun on 5 January: 23:59:40 that day is 86380 s, 00:00:20 the next day
        // 86400 + 20 s, so the later series stays later.
        let before = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20260105"), (.acquisitionDate, .DA, "20260105"),
                                                    (.acquisitionTime, .TM, "235940")]))
        #expect(before.acquisitionTime == 86_380)
        let after = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20260105"), (.acquisitionDate, .DA, "20260106"),
                                                   (.acquisitionTime, .TM, "000020")]))
        #expect(after.acquisitionTime == 86_420)
        // Acquisition DateTime carries its own date; Series Time pairs with Series Date.
        let enhanced = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20260105"), (.acquisitionDateTime, .DT, "20260106000020")]))
        #expect(enhanced.acquisitionTime == 86_420)
        let seriesClock = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20260105"), (.seriesDate, .DA, "20260106"),
                                                         (.seriesTime, .TM, "000020")]))
        #expect(seriesClock.acquisitionTime == 86_420)
        // Across a year end, and across the leap day of 2024 (28 February to 1 March is 2 days).
        let newYear = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20231231"), (.acquisitionDate, .DA, "20240101"),
                                                     (.acquisitionTime, .TM, "000010")]))
        #expect(newYear.acquisitionTime == 86_410)
        let leapDay = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20240228"), (.acquisitionDate, .DA, "20240301"),
                                                     (.acquisitionTime, .TM, "000010")]))
        #expect(leapDay.acquisitionTime == 172_810)
        // A date that is not a calendar date adds nothing.
        let invalid = SeriesAttributes(Self.dataSet([(.studyDate, .DA, "20260105"), (.acquisitionDate, .DA, "20260230"),
                                                     (.acquisitionTime, .TM, "000020")]))
        #expect(invalid.acquisitionTime == 20)
    }
}
