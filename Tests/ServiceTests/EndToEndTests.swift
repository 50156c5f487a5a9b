import Foundation
import Imaging
import Testing
import TestSupport

/// The main job on real processes: a phantom patient's two studies are submitted as DICOM,
/// analysed by workers running the shipped model, tracked, and read back with `history --json`
/// and `export`. The phantom's ground truth checks where each lesion is, which track it keeps,
/// and where the label map lies.
@Suite(.serialized) struct EndToEndTests {
    struct Manifest: Decodable {
        struct Lesion: Decodable {
            let centre: [Double]
            let track: Int
            let longestAxialDiameterMillimetres: Double
        }
        let patientID: String
        let studyDate: String
        let lesions: [Lesion]
    }

    struct History: Decodable {
        struct Study: Decodable {
            let study: Int64
            let studyDate: String?
            let analysis: String
            let lesions: [Lesion]
            let responses: [Response]
        }
        struct Lesion: Decodable {
            let track: Int?
            let centroid: [Double]
            let longestAxialMillimetres: Double
            let category: String
        }
        struct Response: Decodable {
            let criteria: String
            let category: String
        }
        let studies: [Study]
        let tracking: String
    }

    @Test func phantomPatientAnalysedAndTracked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-end-to-end-\(UUID().uuidString)")
        // The field of view the model was trained on, 360 x 264 x 180 mm.
        defer { try? FileManager.default.removeItem(at: folder) }
        let phantom = try ServiceProcess(command: [ServiceProcess.releaseExecutable, "phantom", "--out", folder.path, "--timepoints", "2",
                                                   "--seed", "21", "--size", "120,88,36", "--spacing", "3,3,5"], label: "phantom")
        #expect(phantom.wait(timeout: .seconds(300)) == 0, "\(phantom.output)")
        let patientFolder = folder.appendingPathComponent("patient-001")
        let manifests = try (0..<2).map { timepoint in
            try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: patientFolder.appendingPathComponent("timepoint-\(timepoint)/manifest.json")))
        }

        let deployment = try Deployment(lease: "60", heartbeat: "0.5")
        try deployment.startCoordinator()
        for name in ["analyst-1", "analyst-2"] {
            deployment.workers.append(try ServiceProcess(command: [
                ServiceProcess.releaseExecutable, "worker", "--coordinator", deployment.workerEndpoint, "--name", name, "--heartbeat", "0.5",
                "--model", ServiceProcess.packageRoot.appendingPathComponent("Models/std-net").path,
            ], label: name))
        }

        let submit = try ServiceProcess(["submit", patientFolder.path, "--wait", "--coordinator", deployment.clientEndpoint], label: "submit")
        #expect(submit.wait(timeout: .seconds(600)) == 0, "\(submit.output)\nworker log:\n\(deployment.workers[0].output.suffix(2000))")
        // The phantom's NIfTI volumes and manifests sit beside its DICOM; one is named as an example.
        #expect(submit.output.contains("file(s) that are not DICOM, such as "), "\(submit.output)")
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE kind = 'analyze' AND state = 'succeeded'") == "2")
        #expect(try deployment.value("SELECT count(*) FROM jobs WHERE kind = 'track' AND state IN ('queued', 'running', 'dead')") == "0")

        let read = try ServiceProcess(["history", manifests[0].patientID, "--json", "--user", "e2e", "--coordinator", deployment.clientEndpoint],
                                      label: "history")
        #expect(read.wait(timeout: .seconds(60)) == 0, "\(read.output)")
        let history = try JSONDecoder().decode(History.self, from: Data(read.output.utf8))
        #expect(history.tracking == "succeeded")
        #expect(history.studies.count == 2)

        // Each study has two true lesions of 10 mm or more: a 46 mm cyst and a 27 mm FNH. A lesion
        // found where the manifest puts one must measure close to its true size and keep its
        // track. The shipped weights find the cyst and miss the FNH, which is nearly isodense
        // outside the arterial phase (lesion Dice 0.72 on held-out phantoms, Docs/model-card.md),
        // so only the cyst must be found.
        var trackOfTruth: [Int: Int] = [:]
        for (manifest, study) in zip(manifests, history.studies) {
            #expect(study.analysis == "succeeded")
            #expect(study.studyDate == "\(manifest.studyDate.prefix(4))-\(manifest.studyDate.dropFirst(4).prefix(2))-\(manifest.studyDate.suffix(2))")
            let measurable = manifest.lesions.filter { $0.longestAxialDiameterMillimetres >= 10 }
            #expect(measurable.count == 2)
            for truth in measurable {
                let nearest = study.lesions.min { distance($0.centroid, truth.centre) < distance($1.centroid, truth.centre) }
                guard let lesion = nearest, distance(lesion.centroid, truth.centre) <= truth.longestAxialDiameterMillimetres / 2 else {
                    print("e2e: study \(study.study) true track \(truth.track) (\(truth.longestAxialDiameterMillimetres) mm) not found")
                    #expect(truth.longestAxialDiameterMillimetres < 40, "the 46 mm cyst was not found in study \(study.study)")
                    continue
                }
                let error = abs(lesion.longestAxialMillimetres - truth.longestAxialDiameterMillimetres)
                print("e2e: study \(study.study) true track \(truth.track): \(lesion.longestAxialMillimetres) mm against \(truth.longestAxialDiameterMillimetres) mm")
                #expect(error <= max(5, 0.25 * truth.longestAxialDiameterMillimetres),
                        "true track \(truth.track): \(lesion.longestAxialMillimetres) mm measured, \(truth.longestAxialDiameterMillimetres) mm true")
                let track = try #require(lesion.track, "a found lesion has no track")
                if let earlier = trackOfTruth[truth.track] {
                    #expect(track == earlier, "true track \(truth.track) was track \(earlier), then \(track)")
                }
                trackOfTruth[truth.track] = track
            }
            print("e2e: study \(study.study) reports \(study.lesions.count) lesions, the manifest \(manifest.lesions.count)")
            #expect(study.lesions.count <= manifest.lesions.count + 4, "\(study.lesions.count) lesions reported, \(manifest.lesions.count) true")
        }
        #expect(history.studies[1].responses.map(\.criteria).contains("RECIST 1.1"))

        // The exported label map lies where the study does: its liver overlaps the true liver.
        // A map exported on a shifted or flipped grid would overlap it hardly at all.
        let labelsFile = folder.appendingPathComponent("labels.nii.gz")
        let export = try ServiceProcess(["export", String(history.studies[0].study), "--labels", labelsFile.path,
                                         "--key-images", folder.appendingPathComponent("keys").path,
                                         "--user", "e2e", "--coordinator", deployment.clientEndpoint], label: "export")
        #expect(export.wait(timeout: .seconds(60)) == 0, "\(export.output)")
        // A folder that cannot be made gets the system's reason, not Foundation's error dump.
        let unwritable = try ServiceProcess(["export", String(history.studies[0].study), "--key-images", "/proc/stdnet-no-such-folder",
                                             "--user", "e2e", "--coordinator", deployment.clientEndpoint], label: "export-unwritable")
        #expect(unwritable.wait(timeout: .seconds(60)) == 1)
        #expect(unwritable.output.contains("cannot write the key images to /proc/stdnet-no-such-folder: No such file or directory"),
                "\(unwritable.output)")
        let predicted = try NIfTIImage(contentsOf: labelsFile.path).labels(as: UInt8.self)
        let truth = Resampler.resampleLabels(
            try NIfTIImage(contentsOf: patientFolder.appendingPathComponent("timepoint-0/labels.nii.gz").path).labels(as: UInt8.self),
            onto: predicted.geometry)
        let liverDice = dice(predicted.voxels.map { $0 != 0 }, truth.voxels.map { $0 != 0 })
        let lesionDice = dice(predicted.voxels.map { $0 == 2 }, truth.voxels.map { $0 == 2 })
        print("e2e: liver Dice \(liverDice), lesion Dice \(lesionDice)")
        // The shipped weights reach liver 0.83 and lesion 0.84 on this small study. A map on the
        // wrong grid or from broken weights falls below the bars.
        #expect(liverDice >= 0.75, "liver Dice \(liverDice)")
        #expect(lesionDice >= 0.7, "lesion Dice \(lesionDice)")
        let keyImages = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("keys").path)
        #expect(keyImages.count == history.studies[0].lesions.count)
        // The history read and both exports: the coordinator sent the second one's images, so it
        // is audited although the client could not write them.
        #expect(try deployment.value("SELECT count(*) FROM audit_log WHERE actor = 'e2e'") == "3")
    }

    private func dice(_ a: [Bool], _ b: [Bool]) -> Double {
        let both = zip(a, b).filter { $0 && $1 }.count
        return 2 * Double(both) / Double(a.filter { $0 }.count + b.filter { $0 }.count)
    }

    private func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    }
}
