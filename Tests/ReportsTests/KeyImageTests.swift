import Imaging
import Lesions
import Reports
import Testing

@Suite struct KeyImageTests {
    /// Voxels 0.625 x 1.25 mm in plane, so a 60 mm crop is 96 x 48 voxels and, at 192 pixels
    /// per panel (0.3125 mm per pixel), every voxel is 2 pixels wide and 4 pixels high.
    static let geometry = Geometry(size: VolumeSize(128, 64, 8), spacing: Vector3(0.625, 1.25, 3))

    /// Liver HU per phase, and lesion HU per phase, NC, AP, PV, DP.
    static let liverHU: [Float] = [60, 80, 100, 90]
    static let lesionHU: [Float] = [40, 140, 20, 70]

    /// Greys worked out by hand for the window -160...240 HU: (HU + 160) / 400 * 255, rounded
    /// half up. NC liver 140.25 -> 140, lesion 127.5 -> 128. AP 153 and 191.25 -> 191.
    /// PV 165.75 -> 166 and 114.75 -> 115.
    static let liverGrey: [UInt8] = [140, 153, 166]
    static let lesionGrey: [UInt8] = [128, 191, 115]

    static let yellow: [UInt8] = [255, 255, 0]

    /// The inputs of a key image.
    struct Study {
        let labels: Volume<UInt8>
        var phases: [Phase: Volume<Float>]
        let lesion: LesionComponent

        func keyImage(isCT: Bool = true) throws -> KeyImage {
            try Reports.keyImage(labels: labels, phases: phases, lesion: lesion, isCT: isCT)
        }
    }

    /// Returns a study of liver on `geometry` with lesion voxels in the boxes given as
    /// (i range, j range, k range).
    static func study(lesion boxes: [(ClosedRange<Int>, ClosedRange<Int>, ClosedRange<Int>)], geometry: Geometry = geometry,
                      phases: [Phase] = [.nonContrast, .arterial, .portalVenous]) -> Study {
        var labels = Volume<UInt8>(geometry: geometry, repeating: SegmentationLabel.liver)
        for (iRange, jRange, kRange) in boxes {
            for k in kRange {
                for j in jRange {
                    for i in iRange { labels[i, j, k] = SegmentationLabel.lesion }
                }
            }
        }
        var volumes: [Phase: Volume<Float>] = [:]
        for phase in phases {
            let index = KeyImage.phaseOrder.firstIndex(of: phase)!
            volumes[phase] = Volume(geometry: geometry, voxels: labels.voxels.map {
                $0 == SegmentationLabel.lesion ? lesionHU[index] : liverHU[index]
            })
        }
        let lesion = LesionComponent(voxels: labels.voxels.indices.filter { labels.voxels[$0] == SegmentationLabel.lesion })
        return Study(labels: labels, phases: volumes, lesion: lesion)
    }

    /// Returns a study with a 5 x 5 mm lesion on slice 3 (i 60...67, j 30...33) with a smaller part on slices 2 and 4.
    static func centralLesion(phases: [Phase] = [.nonContrast, .arterial, .portalVenous]) -> Study {
        study(lesion: [(60...67, 30...33, 3...3), (62...65, 31...32, 2...4)], phases: phases)
    }

    static func pixel(_ image: KeyImage, panel: Int, x: Int, y: Int) -> [UInt8] {
        Array(image.image.pixel(x: panel * image.panelWidth + x, y: y))
    }

    @Test func chosenSliceHasMostLesionVoxels() throws {
        let study = Self.centralLesion()

        let image = try study.keyImage()

        #expect(image.slice == 3)
    }

    @Test func tiedSlicesPickMiddleOne() throws {
        // Four equal slices 2...5: the middle is 3.5, and the lower of 3 and 4 wins.
        let study = Self.study(lesion: [(60...67, 30...33, 2...5)])

        let image = try study.keyImage()

        #expect(image.slice == 3)
    }

    @Test func cropIsMinimumSquareAroundLesion() throws {
        let study = Self.centralLesion()

        let image = try study.keyImage()

        // 5 mm + 2 x 10 mm margin is below 60 mm, so 60 mm: 96 columns centred on i 63.5
        // start at 63.5 - 47.5 = 16, and 48 rows centred on j 31.5 start at 31.5 - 23.5 = 8.
        #expect(image.columns == 16..<112)
        #expect(image.rows == 8..<56)
        #expect(image.panelWidth == 192)
        #expect(image.panelHeight == 192)
        #expect(image.image.width == 4 * 192)
        #expect(image.image.height == 192)
    }

    @Test func cropGrowsWithLargeLesion() throws {
        // 72 columns x 0.625 mm = 45 mm, plus 2 x 10 mm = 65 mm: 104 columns from
        // 75.5 - 51.5 = 24 and 52 rows from 31.5 - 25.5 = 6.
        let geometry = Geometry(size: VolumeSize(160, 64, 3), spacing: Vector3(0.625, 1.25, 3))
        let study = Self.study(lesion: [(40...111, 28...35, 1...1)], geometry: geometry)

        let image = try study.keyImage()

        #expect(image.columns == 24..<128)
        #expect(image.rows == 6..<58)
        #expect(image.panelWidth == 192)
        #expect(image.panelHeight == 192)
    }

    @Test func cropIsClippedAtVolumeEdge() throws {
        // Rows centred on j 3.5 would start at 3.5 - 23.5 = -20, so 0..<28 remain: 35 mm of
        // 60 mm, which is 192 x 35 / 60 = 112 pixels high.
        let study = Self.study(lesion: [(60...67, 2...5, 3...3)])

        let image = try study.keyImage()

        #expect(image.columns == 16..<112)
        #expect(image.rows == 0..<28)
        #expect(image.panelWidth == 192)
        #expect(image.panelHeight == 112)
    }

    @Test func contourPixelsAreColoured() throws {
        let study = Self.centralLesion()

        let image = try study.keyImage()

        // Columns 60...67 show at x (60 - 16) x 2 = 88 to 103, rows 30...33 at y (30 - 8) x 4 = 88 to 103.
        for panel in 0..<3 {
            for (x, y) in [(88, 88), (88, 95), (103, 95), (95, 88), (95, 103), (103, 103)] {
                #expect(Self.pixel(image, panel: panel, x: x, y: y) == Self.yellow, "panel \(panel) pixel (\(x), \(y))")
            }
            var contourCount = 0
            for y in 0..<image.panelHeight {
                for x in 0..<image.panelWidth where Self.pixel(image, panel: panel, x: x, y: y) == Self.yellow {
                    contourCount += 1
                }
            }
            // The ring of a 16 x 16 pixel square: 4 x 16 - 4.
            #expect(contourCount == 60, "panel \(panel)")
        }
    }

    @Test func interiorAndOutsideKeepWindowedGrey() throws {
        let study = Self.centralLesion()

        let image = try study.keyImage()

        for panel in 0..<3 {
            let lesionGrey = [UInt8](repeating: Self.lesionGrey[panel], count: 3)
            let liverGrey = [UInt8](repeating: Self.liverGrey[panel], count: 3)
            for (x, y) in [(89, 89), (95, 95), (102, 102)] {
                #expect(Self.pixel(image, panel: panel, x: x, y: y) == lesionGrey, "panel \(panel) pixel (\(x), \(y))")
            }
            for (x, y) in [(87, 95), (104, 95), (95, 87), (95, 104), (0, 0), (191, 191)] {
                #expect(Self.pixel(image, panel: panel, x: x, y: y) == liverGrey, "panel \(panel) pixel (\(x), \(y))")
            }
        }
    }

    @Test func scalingKeepsPixelsSquareInMillimetres() throws {
        var study = Self.centralLesion()
        // HU 240 is the top of the window. Voxel (20, 10) covers x 8...9 and y 8...11.
        study.phases[.nonContrast]![20, 10, 3] = 240

        let image = try study.keyImage()

        for (x, y) in [(8, 8), (9, 8), (8, 11), (9, 11)] {
            #expect(Self.pixel(image, panel: 0, x: x, y: y) == [255, 255, 255], "pixel (\(x), \(y))")
        }
        for (x, y) in [(7, 8), (10, 8), (8, 7), (8, 12)] {
            #expect(Self.pixel(image, panel: 0, x: x, y: y) == [140, 140, 140], "pixel (\(x), \(y))")
        }
    }

    @Test func missingPhaseIsDarkPanel() throws {
        let study = Self.centralLesion(phases: [.nonContrast, .portalVenous])

        let image = try study.keyImage()

        for panel in [1, 3] {
            var nonBlack = 0
            for y in 0..<image.panelHeight {
                for x in 0..<image.panelWidth where Self.pixel(image, panel: panel, x: x, y: y) != [0, 0, 0] {
                    nonBlack += 1
                }
            }
            #expect(nonBlack == 0, "panel \(panel)")
        }
        #expect(Self.pixel(image, panel: 2, x: 0, y: 0) == [166, 166, 166])
    }

    @Test func panelsFollowPhaseOrder() throws {
        // The dictionary order of `phases` is irrelevant, because NC, AP, PV, DP run left to right.
        let study = Self.centralLesion(phases: [.delayed, .portalVenous, .nonContrast, .arterial])

        let image = try study.keyImage()

        // DP: liver 90 HU -> 250 x 0.6375 = 159.375 -> 159.
        let expected: [UInt8] = [140, 153, 166, 159]
        for panel in 0..<4 {
            #expect(Self.pixel(image, panel: panel, x: 0, y: 0) == [UInt8](repeating: expected[panel], count: 3), "panel \(panel)")
        }
        #expect(KeyImage.phaseOrder == [.nonContrast, .arterial, .portalVenous, .delayed])
    }

    @Test func mrWindowSpansCropPercentiles() throws {
        var study = Self.centralLesion(phases: [.arterial])
        // Every voxel stores its column i. The 96 x 48 crop contains 16...111, 48 voxels each, so
        // the 1st percentile (rank 0.01 x 4607 = 46.07) is 16 and the 99th (rank 4560.93) is 111.
        // Outside the crop lie columns 0...15 and 112...127, which would move both percentiles.
        for k in 0..<8 {
            for j in 0..<64 {
                for i in 0..<128 { study.phases[.arterial]![i, j, k] = Float(i) }
            }
        }

        let image = try study.keyImage(isCT: false)

        // Pixel x shows column 16 + x / 2: grey (column - 16) / 95 x 255, rounded half up.
        let expected: [(x: Int, grey: UInt8)] = [(0, 0), (20, 27), (60, 81), (191, 255)]
        for (x, grey) in expected {
            #expect(Self.pixel(image, panel: 1, x: x, y: 0) == [grey, grey, grey], "pixel x \(x)")
        }
        #expect(Self.pixel(image, panel: 1, x: 88, y: 88) == Self.yellow)
    }

    @Test func phaseOnOtherGridIsRejected() {
        var study = Self.centralLesion()
        study.phases[.arterial] = Volume(geometry: Geometry(size: VolumeSize(128, 64, 8), spacing: Vector3(0.7, 1.25, 3)), repeating: 0)

        #expect(throws: ReportError.self) {
            try study.keyImage()
        }
    }

    @Test func emptyLesionIsRejected() {
        let study = Self.centralLesion()

        #expect(throws: ReportError.self) {
            try Reports.keyImage(labels: study.labels, phases: study.phases, lesion: LesionComponent(voxels: []), isCT: true)
        }
    }

    @Test func lesionOfOtherLabelMapIsRejected() {
        let study = Self.centralLesion()

        // Voxel 0 is liver, and 10^6 lies outside the 65,536 voxels.
        #expect(throws: ReportError.self) {
            try Reports.keyImage(labels: study.labels, phases: study.phases, lesion: LesionComponent(voxels: [0]), isCT: true)
        }
        #expect(throws: ReportError.self) {
            try Reports.keyImage(labels: study.labels, phases: study.phases, lesion: LesionComponent(voxels: [1_000_000]), isCT: true)
        }
    }
}
