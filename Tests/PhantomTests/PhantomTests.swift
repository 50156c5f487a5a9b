import Foundation
import Imaging
import Lesions
import Phantom
import Testing

/// Checks of the phantom against the attenuation table, its own manifest and other readers.
/// Grids are coarse so the suite stays fast in debug builds.
@Suite struct PhantomTests {
    /// A whole-abdomen grid at 5 mm, without breathing motion, so phases line up with the labels.
    static let coarse = PhantomOptions(size: VolumeSize(72, 56, 30), spacing: Vector3(5, 5, 6), motionMillimetres: 0, lesionCount: 3...4)

    /// Typical HU per phase (NC, AP, PV, DP) of the tissues checked, as the phantom is meant to show them.
    static let typical: [(Tissue, [Double])] = [
        (.liver, [55, 75, 115, 95]), (.aorta, [40, 300, 170, 120]), (.spleen, [50, 110, 120, 100]),
        (.kidneyCortex, [35, 180, 170, 140]), (.muscle, [50, 60, 65, 60]), (.fat, [-100, -100, -100, -100]),
    ]

    @Test func tissueMeansMatchTypicalValues() throws {
        let patient = PhantomPatient(seed: 11, number: 1, options: Self.coarse)
        let study = patient.renderStudy(timepoint: 0)
        let tissues = patient.tissueMap(timepoint: 0)
        let size = tissues.size

        for (tissue, expected) in Self.typical {
            // Only voxels whose six neighbours are the same tissue and no lesion: no partial volume.
            var interior: [Int] = []
            for k in 1..<(size.z - 1) {
                for j in 1..<(size.y - 1) {
                    for i in 1..<(size.x - 1) {
                        let index = i + size.x * (j + size.y * k)
                        let neighbours = [index - 1, index + 1, index - size.x, index + size.x, index - size.x * size.y, index + size.x * size.y]
                        if tissues.voxels[index] == tissue.rawValue, study.labels.voxels[index] != SegmentationLabel.lesion,
                           neighbours.allSatisfy({ tissues.voxels[$0] == tissue.rawValue }) {
                            interior.append(index)
                        }
                    }
                }
            }
            #expect(interior.count >= 5, "\(tissue): only \(interior.count) interior voxels")
            for (order, phase) in Phase.allCases.enumerated() {
                let image = try #require(study.phases[phase])
                let mean = interior.reduce(0.0) { $0 + Double(image.voxels[$1]) } / Double(max(interior.count, 1))
                // Per-patient timing changes enhancement by about 8% (1 SD), the baseline by 3 HU;
                // noise averages down over the voxels.
                let tolerance = 12 + 0.25 * abs(expected[order] - expected[0]) + 3 * study.noiseHounsfieldUnits / Double(max(interior.count, 1)).squareRoot()
                #expect(abs(mean - expected[order]) <= tolerance, "\(tissue) \(phase.rawValue): mean \(mean) HU, expected \(expected[order]) ± \(tolerance)")
            }
        }
    }

    /// Without a size the grid spans the 360 x 264 x 180 mm the shipped model was trained on,
    /// in whole voxels: 360 / 1.4 = 257.1, 264 / 1.4 = 188.6, 180 / 2.5 = 72. And 264 / 1.1 is
    /// 240 exactly, though not in floating point.
    @Test func defaultGridCoversTheTrainingFieldOfView() {
        #expect(PhantomOptions().size == VolumeSize(257, 188, 72))
        #expect(PhantomOptions(spacing: Vector3(3, 3, 5)).size == VolumeSize(120, 88, 36))
        #expect(PhantomOptions(spacing: Vector3(500, 500, 500)).size == VolumeSize(1, 1, 1))
        #expect(PhantomOptions(spacing: Vector3(1.2, 1.1, 2.2)).size == VolumeSize(300, 240, 81))
    }

    @Test func manifestSizesMatchLabelMap() throws {
        // A finer grid around the liver, portal venous phase only.
        var options = PhantomOptions(size: VolumeSize(120, 80, 48), spacing: Vector3(2, 2, 2.5), motionMillimetres: 0,
                                     droppedPhases: [.nonContrast, .arterial, .delayed], lesionCount: 3...4)
        options.lesionCount = 3...4
        let patient = PhantomPatient(seed: 5, number: 2, options: options)
        let study = patient.renderStudy(timepoint: 0)
        #expect(!study.lesions.isEmpty)

        for truth in study.lesions {
            let voxels = study.lesionInstances.voxels.indices.filter { study.lesionInstances.voxels[$0] == UInt16(truth.id) }
            guard voxels.count > 8 else { continue }  // lesions cut by the grid's edge or too small to measure
            let measured = measure(LesionComponent(voxels: voxels), on: study.labels.geometry)
            let voxelMillilitres = 2.0 * 2.0 * 2.5 / 1000
            // The digital volume differs from the analytic one by at most the half-voxel shell.
            let shell = 4 * Double.pi * pow(truth.maximumDiameterMillimetres / 2, 2) * 1.25 / 1000
            #expect(abs(measured.volumeMillilitres - truth.volumeMillilitres) <= shell + voxelMillilitres,
                    "lesion \(truth.id): label volume \(measured.volumeMillilitres) mL, manifest \(truth.volumeMillilitres) mL")
            #expect(abs(measured.longestAxialDiameterMillimetres - truth.longestAxialDiameterMillimetres) <= 2.5,
                    "lesion \(truth.id): label diameter \(measured.longestAxialDiameterMillimetres) mm, manifest \(truth.longestAxialDiameterMillimetres) mm")
            #expect(abs(measured.maximumDiameterMillimetres - truth.maximumDiameterMillimetres) <= 3.5,
                    "lesion \(truth.id): label maximum \(measured.maximumDiameterMillimetres) mm, manifest \(truth.maximumDiameterMillimetres) mm")
        }
    }

    @Test func hccWashesOutCystDoesNot() throws {
        // 3.5 mm voxels over the liver, so a lesion's core is not all rim; lesions of 3 mL and up.
        let options = PhantomOptions(size: VolumeSize(80, 64, 34), spacing: Vector3(3.5, 3.5, 3.5), motionMillimetres: 0, lesionCount: 3...4)
        var checked: Set<LesionClass> = []
        for number in 1...5 {
            let patient = PhantomPatient(seed: 21, number: number, options: options)
            let study = patient.renderStudy(timepoint: 0)
            for lesion in connectedLesions(in: study.labels, minimumVolumeMillilitres: 3.0) {
                let ids = Set(lesion.voxels.map { study.lesionInstances.voxels[$0] })
                guard ids.count == 1, let truth = study.lesions.first(where: { UInt16($0.id) == ids.first }) else { continue }
                let features = enhancementFeatures(regionStatistics(of: lesion, labels: study.labels, phases: study.phases), isCT: true)
                switch truth.lesionClass {
                case .hcc:
                    #expect(features.arterialEnhancement == .nonrim, "HCC \(truth.id) of patient \(number): \(features)")
                    #expect(features.nonperipheralWashout, "HCC \(truth.id) of patient \(number): \(features)")
                    checked.insert(.hcc)
                case .cyst:
                    #expect(features.arterialEnhancement == ArterialEnhancement.none, "cyst \(truth.id): \(features)")
                    #expect(!features.nonperipheralWashout, "cyst \(truth.id): \(features)")
                    checked.insert(.cyst)
                default:
                    break
                }
            }
        }
        #expect(checked == [.hcc, .cyst], "the patients drawn held no \(Set([LesionClass.hcc, .cyst]).subtracting(checked)) to check")
    }

    /// A grid smaller than the liver lists only the lesions it holds: the same patient on the
    /// whole abdomen shows more.
    @Test func lesionsOutsideGridLeftOut() throws {
        var smallGrid = Self.coarse
        smallGrid.size = VolumeSize(8, 8, 4)
        var anyLeftOut = false
        for number in 1...4 {
            let wholeAbdomen = PhantomPatient(seed: 7, number: number, options: Self.coarse).renderStudy(timepoint: 0)
            let study = PhantomPatient(seed: 7, number: number, options: smallGrid).renderStudy(timepoint: 0)
            let labelled = Set(study.lesionInstances.voxels.filter { $0 != 0 }.map(Int.init))
            #expect(Set(study.lesions.map(\.id)) == labelled, "patient \(number)")
            #expect(Set(study.lesions.map(\.id)).isSubset(of: wholeAbdomen.lesions.map(\.id)), "patient \(number)")
            anyLeftOut = anyLeftOut || study.lesions.count < wholeAbdomen.lesions.count
        }
        #expect(anyLeftOut, "every lesion of the patients drawn lies in the small grid, so none was left out")
    }

    @Test func sameSeedSameBytes() throws {
        let options = PhantomOptions(size: VolumeSize(40, 32, 12), spacing: Vector3(9, 9, 12), lesionCount: 2...2)
        let first = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-bytes-\(UUID().uuidString)")
        let second = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-bytes-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        for folder in [first, second] {
            let patient = PhantomPatient(seed: 99, number: 1, options: options)
            try PhantomWriter.write(patient.renderStudy(timepoint: 1), of: patient, to: folder)
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: first.path).filter { !$0.hasSuffix("/") }.sorted()
        #expect(files.count > 10)
        for file in files {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: first.appendingPathComponent(file).path, isDirectory: &isFolder),
                  !isFolder.boolValue else { continue }
            let a = try Data(contentsOf: first.appendingPathComponent(file))
            let b = try Data(contentsOf: second.appendingPathComponent(file))
            #expect(a == b, "\(file) differs between two runs with the same seed")
        }
        // Other options render other images, which get other UIDs.
        var finer = options
        finer.sliceSpacing = [.arterial: 6]
        let third = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-bytes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: third) }
        let patient = PhantomPatient(seed: 99, number: 1, options: finer)
        let manifest = try PhantomWriter.write(patient.renderStudy(timepoint: 1), of: patient, to: third)
        let firstManifest = try JSONDecoder().decode(StudyManifest.self, from: Data(contentsOf: first.appendingPathComponent("manifest.json")))
        #expect(manifest.studyInstanceUID != firstManifest.studyInstanceUID)
        #expect(manifest.patientID == firstManifest.patientID)
        // A UID component has no leading zero (DICOM PS3.5 section 9.1).
        for component in firstManifest.studyInstanceUID.split(separator: ".") where component.count > 1 {
            #expect(!component.hasPrefix("0"), "\(firstManifest.studyInstanceUID)")
        }

        let other = PhantomPatient(seed: 100, number: 1, options: options).renderStudy(timepoint: 1)
        let again = PhantomPatient(seed: 99, number: 1, options: options).renderStudy(timepoint: 1)
        #expect(other.phases[.portalVenous]!.voxels != again.phases[.portalVenous]!.voxels)
    }

    @Test func dicomReadsBackWithGeometry() throws {
        let options = PhantomOptions(size: VolumeSize(40, 32, 12), spacing: Vector3(9, 9, 12), motionMillimetres: 8, lesionCount: 2...2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-dicom-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let patient = PhantomPatient(seed: 4, number: 1, options: options)
        let study = patient.renderStudy(timepoint: 0)
        let manifest = try PhantomWriter.write(study, of: patient, to: folder)
        #expect(manifest.phases == ["NC", "AP", "PV", "DP"])

        for phase in Phase.allCases {
            let series = try SeriesAssembler.loadSeries(folder: folder.appendingPathComponent("dicom/\(phase.rawValue)").path)
            let written = try #require(study.phases[phase])
            #expect(series.volume.geometry.isSameGrid(as: written.geometry), "\(phase.rawValue) geometry")
            // DICOM stores whole HU as Int16.
            let largestError = zip(series.volume.voxels, written.voxels).map { abs($0 - $1.rounded()) }.max() ?? 0
            #expect(largestError == 0, "\(phase.rawValue): largest difference \(largestError) HU")
        }
        let identified = try SeriesScanner.scan(folder.appendingPathComponent("dicom").path)
        #expect(!identified.series.isEmpty)

        // pydicom, where installed, reads the same pixels and position.
        let script = """
            import sys, pydicom
            ds = pydicom.dcmread(sys.argv[1])
            print(int(ds.pixel_array[3, 5]), float(ds.RescaleIntercept), list(map(float, ds.ImagePositionPatient)))
            """
        let firstSlice = folder.appendingPathComponent("dicom/PV/CT00001.dcm").path
        if let output = try? runPython(script, arguments: [firstSlice]) {
            let pv = study.phases[.portalVenous]!
            #expect(output.hasPrefix("\(Int(pv[5, 3, 0].rounded())) "), "pydicom read \(output)")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dciodvfy") {
            let report = try runTool("/usr/bin/dciodvfy", [firstSlice])
            let errors = report.split(separator: "\n").filter { $0.hasPrefix("Error") }
            #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))")
        }
    }

    /// An MRI-like phantom is written as MR Image Storage, so that 'stdnet submit' warns that
    /// the study is MR, as it does for the study modality that StudyCollector reads.
    @Test func mriPhantomWritesMRSeries() throws {
        let options = PhantomOptions(size: VolumeSize(40, 32, 12), spacing: Vector3(9, 9, 12), mriLike: true, lesionCount: 2...2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("phantom-mri-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let patient = PhantomPatient(seed: 4, number: 1, options: options)
        try PhantomWriter.write(patient.renderStudy(timepoint: 0), of: patient, to: folder)

        let series = folder.appendingPathComponent("dicom/PV")
        let names = try FileManager.default.contentsOfDirectory(atPath: series.path).sorted()
        #expect(names.count == 12)
        let firstSlice = series.appendingPathComponent(try #require(names.first)).path
        let file = try DicomFile(contentsOf: firstSlice)
        let mrImageStorage = "1.2.840.10008.5.1.4.1.1.4"
        #expect(file.dataSet.string(.modality) == "MR")
        #expect(file.dataSet.string(.sopClassUID) == mrImageStorage)
        #expect(file.fileMeta.string(.mediaStorageSOPClassUID) == mrImageStorage)
        // CT Image attributes: an MR image has no HU rescale and no tube voltage.
        #expect(!file.dataSet.contains(.rescaleType))
        #expect(!file.dataSet.contains(.rescaleIntercept))
        #expect(!file.dataSet.contains(.kvp))

        let collection = try StudyCollector.collect([folder.appendingPathComponent("dicom").path])
        #expect(collection.studies.map(\.modality) == ["MR"])
        #expect(collection.studies.first?.series.count == 4)

        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dciodvfy") {
            let report = try runTool("/usr/bin/dciodvfy", [firstSlice])
            let errors = report.split(separator: "\n").filter { $0.hasPrefix("Error") }
            #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))")
        }
    }
}

/// Runs a Python snippet; nil when Python or the module it imports is missing.
func runPython(_ script: String, arguments: [String]) throws -> String? {
    let output = try runTool("/usr/bin/env", ["python3", "-c", script] + arguments)
    return output.contains("Traceback") ? nil : output
}

func runTool(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
