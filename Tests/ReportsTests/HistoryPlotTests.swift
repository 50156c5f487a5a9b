import Foundation
import Lesions
import Reports
import Testing

@Suite struct HistoryPlotTests {
    /// Returns midnight UTC of a YYYY-MM-DD date.
    static func day(_ text: String) throws -> Date {
        try Date(text + "T00:00:00Z", strategy: .iso8601)
    }

    /// Returns a track's sizes from (date, diameter) pairs.
    static func history(_ track: Int, _ sizes: [(String, Double)]) throws -> TrackHistory {
        TrackHistory(track: track, sizes: try sizes.map { SizeMeasurement(date: try day($0.0), diameterMillimetres: $0.1) })
    }

    /// Returns the (x, y) pairs of a polyline's `points` attribute.
    static func points(_ polyline: SVGDocument.Element) -> [(x: Double, y: Double)] {
        polyline.attributes["points"]!.split(separator: " ").map { pair in
            let parts = pair.split(separator: ",").map { Double($0)! }
            return (parts[0], parts[1])
        }
    }

    static func centres(_ circles: [SVGDocument.Element]) -> [(x: Double, y: Double)] {
        circles.map { (Double($0.attributes["cx"]!)!, Double($0.attributes["cy"]!)!) }
    }

    /// Checks that `actual` matches `expected` to the two decimals the SVG stores.
    static func expectPoints(_ actual: [(x: Double, y: Double)], _ expected: [(x: Double, y: Double)],
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a.x - e.x) < 0.006, "x \(a.x), expected \(e.x)", sourceLocation: sourceLocation)
            #expect(abs(a.y - e.y) < 0.006, "y \(a.y), expected \(e.y)", sourceLocation: sourceLocation)
        }
    }

    /// Three tracks over 37 days, so the 370 px between the first and last date (x 90 to 460)
    /// make 10 px per day. The largest diameter, 23.4 mm, gives the axis 0 to 25 mm over the
    /// 260 px from y 310 up to 50: y = 310 - 10.4 x diameter.
    static func threeTracks() throws -> [TrackHistory] {
        [try history(3, [("2026-01-01", 12), ("2026-01-11", 15.5), ("2026-02-07", 23.4)]),
         try history(5, [("2026-01-11", 10), ("2026-02-07", 6.5)]),
         try history(7, [("2026-02-07", 8)])]
    }

    @Test func pointsFollowAxisMapping() throws {
        let document = try SVGDocument(try historyPlotSVG(Self.threeTracks(), title: "patient 12"))

        #expect(document.elements(named: "polyline").count == 2)
        #expect(document.elements(named: "circle").count == 6)
        let track3 = document.elements(named: "polyline", track: 3)
        #expect(track3.count == 1)
        Self.expectPoints(Self.points(track3[0]), [(90, 185.2), (190, 148.8), (460, 66.64)])
        let track5 = document.elements(named: "polyline", track: 5)
        #expect(track5.count == 1)
        Self.expectPoints(Self.points(track5[0]), [(190, 206), (460, 242.4)])
        Self.expectPoints(Self.centres(document.elements(named: "circle", track: 3)), [(90, 185.2), (190, 148.8), (460, 66.64)])
    }

    @Test func singleStudyTrackIsMarker() throws {
        let document = try SVGDocument(try historyPlotSVG(Self.threeTracks(), title: "patient 12"))

        #expect(document.elements(named: "polyline", track: 7).isEmpty)
        Self.expectPoints(Self.centres(document.elements(named: "circle", track: 7)), [(460, 226.8)])
    }

    @Test func axesHaveTicksAndLabels() throws {
        let document = try SVGDocument(try historyPlotSVG(Self.threeTracks(), title: "patient 12"))

        #expect(document.texts(inGroup: "x-axis") == ["2026-01-01", "2026-01-11", "2026-02-07", "study date"])
        #expect(document.texts(inGroup: "y-axis") == ["0", "5", "10", "15", "20", "25", "longest axial diameter (mm)"])
        let tickYs = document.elements(named: "text").filter { $0.attributes["group"] == "y-axis" }.dropLast().map { Double($0.attributes["y"]!)! }
        #expect(tickYs == [310, 258, 206, 154, 102, 50])
    }

    @Test func legendNamesTracksInDistinctColours() throws {
        let document = try SVGDocument(try historyPlotSVG(Self.threeTracks(), title: "patient 12"))

        #expect(document.texts(inGroup: "legend") == ["track 3", "track 5", "track 7"])
        let swatches = document.elements(named: "rect").filter { $0.attributes["group"] == "legend" }.map { $0.attributes["fill"]! }
        #expect(swatches.count == 3)
        #expect(Set(swatches).count == 3)
        for (track, colour) in zip([3, 5, 7], swatches) {
            #expect(document.elements(named: "circle", track: track).allSatisfy { $0.attributes["fill"] == colour }, "track \(track)")
        }
        #expect(document.elements(named: "polyline", track: 3)[0].attributes["stroke"] == swatches[0])
    }

    @Test func manyTracksGetDistinctColours() throws {
        let tracks = try (1...40).map { try Self.history($0, [("2026-01-01", Double($0))]) }

        let document = try SVGDocument(try historyPlotSVG(tracks, title: "forty tracks"))

        let swatches = document.elements(named: "rect").filter { $0.attributes["group"] == "legend" }.map { $0.attributes["fill"]! }
        #expect(swatches.count == 40)
        #expect(Set(swatches).count == 40)
    }

    @Test func datesOutOfOrderAreSorted() throws {
        let shuffled = [try Self.history(3, [("2026-02-07", 23.4), ("2026-01-01", 12), ("2026-01-11", 15.5)]),
                        try Self.history(5, [("2026-02-07", 6.5), ("2026-01-11", 10)])]

        let document = try SVGDocument(try historyPlotSVG(shuffled, title: "patient 12"))

        Self.expectPoints(Self.points(document.elements(named: "polyline", track: 3)[0]), [(90, 185.2), (190, 148.8), (460, 66.64)])
        Self.expectPoints(Self.points(document.elements(named: "polyline", track: 5)[0]), [(190, 206), (460, 242.4)])
        #expect(document.texts(inGroup: "x-axis").prefix(3) == ["2026-01-01", "2026-01-11", "2026-02-07"])
    }

    @Test func oneStudyOnlyCentresDate() throws {
        // One date sits midway between x 90 and 460, at 275. Largest 30 mm: axis 0 to 30 in
        // steps of 10, so y = 310 - 260 / 30 x diameter, and 14 mm gives 188.67.
        let tracks = [try Self.history(1, [("2026-03-05", 14)]), try Self.history(2, [("2026-03-05", 30)])]

        let document = try SVGDocument(try historyPlotSVG(tracks, title: "baseline"))

        #expect(document.elements(named: "polyline").isEmpty)
        Self.expectPoints(Self.centres(document.elements(named: "circle", track: 1)), [(275, 188.67)])
        Self.expectPoints(Self.centres(document.elements(named: "circle", track: 2)), [(275, 50)])
        #expect(document.texts(inGroup: "x-axis") == ["2026-03-05", "study date"])
        #expect(document.texts(inGroup: "y-axis") == ["0", "10", "20", "30", "longest axial diameter (mm)"])
    }

    @Test func diameterAxisRoundsUp() throws {
        // Largest diameter -> tick labels: the step is 1, 2 or 5 x 10^n giving at most five intervals.
        let cases: [(Double, [String])] = [
            (7, ["0", "2", "4", "6", "8"]),
            (30, ["0", "10", "20", "30"]),
            (120, ["0", "50", "100", "150"]),
            (0.3, ["0", "0.1", "0.2", "0.3"]),
            (0, ["0", "2", "4", "6", "8", "10"]),
        ]
        for (largest, expected) in cases {
            let svg = try historyPlotSVG([try Self.history(1, [("2026-01-01", largest)])], title: "axis")

            let labels = try SVGDocument(svg).texts(inGroup: "y-axis").dropLast()
            #expect(Array(labels) == expected, "largest \(largest) mm")
        }
    }

    @Test func titleIsEscaped() throws {
        let title = "Patient <A&B> \"x\" 'y'"

        let svg = try historyPlotSVG(Self.threeTracks(), title: title)

        #expect(svg.contains("Patient &lt;A&amp;B&gt; &quot;x&quot; &apos;y&apos;"))
        let document = try SVGDocument(svg)
        #expect(document.elements(named: "title").map(\.text) == [title])
        #expect(document.elements(named: "text").first { $0.attributes["class"] == "title" }?.text == title)
    }

    @Test func forbiddenCharactersAreReplaced() throws {
        // XML 1.0 allows U+0001 and U+FFFF in no form, so they become U+FFFD. A tab stays.
        let svg = try historyPlotSVG(Self.threeTracks(), title: "P\u{1}12\tx\u{FFFF}")

        let document = try SVGDocument(svg)
        #expect(document.elements(named: "title").map(\.text) == ["P\u{FFFD}12\tx\u{FFFD}"])
    }

    @Test func noMeasurementsDrawsAxesOnly() throws {
        let document = try SVGDocument(try historyPlotSVG([TrackHistory(track: 4, sizes: [])], title: "empty"))

        #expect(document.elements(named: "polyline").isEmpty)
        #expect(document.elements(named: "circle").isEmpty)
        #expect(document.texts(inGroup: "x-axis") == ["study date"])
        #expect(document.texts(inGroup: "legend") == ["track 4"])
    }

    @Test func invalidDiameterIsRejected() throws {
        for diameter in [-1, Double.nan, Double.infinity] {
            let tracks = [try Self.history(2, [("2026-01-01", 10), ("2026-02-01", diameter)])]

            #expect(throws: ReportError.self, "diameter \(diameter)") {
                try historyPlotSVG(tracks, title: "invalid")
            }
        }
    }
}
