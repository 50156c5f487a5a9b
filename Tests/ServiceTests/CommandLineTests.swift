import Foundation
import Testing
import TestSupport

/// Command lines that `stdnet` must reject before it does anything.
@Suite struct CommandLineTests {
    static let cases: [(arguments: [String], message: String)] = [
        ([], "usage: stdnet COMMAND"),
        (["status", "--timeout", "inf"], "option --timeout expects a number of seconds, more than 0 and at most 1000000, got 'inf'"),
        (["status", "--timeout", "1e300"], "got '1e300'"),
        (["status", "--timeout", "0"], "more than 0"),
        (["coordinator", "--heartbeat", "0"], "option --heartbeat expects a number of seconds, more than 0"),
        (["worker", "--no-model", "--shutdown-timeout", "inf"], "option --shutdown-timeout expects a number of seconds, 0 or more"),
        (["submit", "--noop", "1", "--sleep-ms", "-5"], "--sleep-ms expects milliseconds, 0 or more, got -5"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--checkpoint-every", "0"], "--checkpoint-every expects a positive number of steps, got 0"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--warmup", "-5"], "--warmup expects a number of steps, 0 or more, got '-5'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--lesion-fraction", "1.5"], "--lesion-fraction expects a number from 0 to 1, got '1.5'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--per-lesion-dice", "inf"], "--per-lesion-dice expects a weight from 0 to 100, got 'inf'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--lesion-weight", "0"], "--lesion-weight expects a weight from 0.1 to 100, got '0'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--motion", "-1"], "--motion expects millimetres from 0 to 50, got '-1'"),
        (["evaluate", "--motion", "inf"], "--motion expects millimetres from 0 to 50, got 'inf'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--motion", "1000"], "--motion expects millimetres from 0 to 50, got '1000'"),
        (["export", "1", "--labels", "/tmp/labels.png"], "--labels names a NIfTI-1 file, whose name ends in .nii or .nii.gz: got '/tmp/labels.png'"),
        (["export", "1", "--labels", "/tmp/.nii"], "--labels names a NIfTI-1 file, whose name ends in .nii or .nii.gz: got '/tmp/.nii'"),
        (["export", "1", "--key-images", "/etc/passwd"], "--key-images names a folder, and /etc/passwd is a file"),
        (["export", "1", "--labels", "/tmp/stdnet-no-such-folder/labels.nii.gz"],
         "the folder of --labels, /tmp/stdnet-no-such-folder, does not exist; create it first"),
        (["train", "--steps", "5"], "--out DIR is required"),
        (["retry", "0"], "expected one job ID (a positive integer), got '0'"),
        (["cancel"], "expected one job ID (a positive integer)\nRun 'stdnet cancel --help' for its options."),
        (["export", "abc"], "expected one study ID (a positive integer), got 'abc'"),
        (["history", " ", "--user", "test"], "the patient ID is empty; give the Patient ID of the studies"),
        (["database", "start", "--port", "99999"], "--port expects a TCP port from 1 to 65535, got 99999"),
        (["worker", "--no-model", "--name", ""], "--name expects a worker name, got an empty one"),
        (["help", "bogus"], "unknown command 'bogus'; run 'stdnet help' for the list"),
        (["phantom", "--out", "/etc/passwd"], "--out /etc/passwd is a file; give a folder, which is created if missing"),
        // The coordinator's Patient ID checks run before any volume is read.
        (["submit", "--nifti", "NC=/tmp/stdnet-none-nc.nii,PV=/tmp/stdnet-none-pv.nii", "--patient", "TAB\tID"],
         "the Patient ID of --patient contains a control character other than ESC, or a backslash"),
        (["submit", "--nifti", "NC=/tmp/stdnet-none-nc.nii,PV=/tmp/stdnet-none-pv.nii", "--patient", " P-1"],
         "the Patient ID of --patient starts or ends with spaces"),
        (["submit", "--nifti", "NC=/tmp/stdnet-none-nc.nii,PV=/tmp/stdnet-none-pv.nii", "--patient", "   "],
         "NIfTI files carry no patient: give --patient ID"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "5", "--seed", "1000"],
         "this run would train on the phantom patients of seed 1000, the held-out seed of stdnet evaluate"),
        (["train", "--out", "/tmp/stdnet-no-checkpoint-here", "--steps", "5", "--resume"],
         "--resume: no checkpoint found in /tmp/stdnet-no-checkpoint-here (config.json missing): leave out --resume to start a new run there"),
        // A misspelt option is named as such, not reported as the required one missing.
        (["train", "--ouy", "/tmp/stdnet-unused", "--steps", "5"], "unexpected argument '--ouy'"),
        (["phantom", "--ouy", "/tmp/stdnet-unused"], "unexpected argument '--ouy'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--size", "0,10,10"], "--size expects three comma-separated numbers above 0 and below 1000000, got '0,10,10'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--spacing", "-1,1,1"], "--spacing expects three comma-separated numbers above 0 and below 1000000, got '-1,1,1'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--size", "100000,100000,100000"], "--size 100000,100000,100000 has more than 268435456 voxels"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--size", "300000,300000,300000"], "--size 300000,300000,300000 has more than 268435456 voxels"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--size", "3000000,3000000,3000000"], "--size expects three comma-separated numbers above 0 and below 1000000"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--spacing", "1,inf,1"], "--spacing expects three comma-separated numbers above 0 and below 1000000, got '1,inf,1'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--spacing", "0.1,0.1,0.1"],
         "--spacing 0.1,0.1,0.1 takes more than 268435456 voxels to span the default field of view of 360 x 264 x 180 mm; give a coarser spacing or a --size"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--window", "1024,1024,8"],
         "--window 1024,1024,8 has more than 2097152 voxels; give a smaller window"),
        (["evaluate", "--model", "/tmp/stdnet-unused", "--window", "1024,1024,8"],
         "--window 1024,1024,8 has more than 2097152 voxels; give a smaller window"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--window", "32,64,x,64"],
         "--window expects three multiples of 8, got '32,64,x,64'"),
        (["evaluate", "--model", "/tmp/stdnet-unused", "--window", "32,,64,64"],
         "--window expects three multiples of 8, got '32,,64,64'"),
        // 3,600,000 x 2,640,000 x 1,800,000 voxels, more than Int.max in all.
        (["phantom", "--out", "/tmp/stdnet-unused", "--spacing", "0.0001,0.0001,0.0001"],
         "--spacing 0.0001,0.0001,0.0001 takes more than 268435456 voxels to span the default field of view of 360 x 264 x 180 mm; give a coarser spacing or a --size"),
        // 360,000,000 voxels along x and one along each other axis.
        (["phantom", "--out", "/tmp/stdnet-unused", "--spacing", "0.000001,999999,999999"],
         "--spacing 0.000001,999999,999999 takes more than 268435456 voxels to span the default field of view of 360 x 264 x 180 mm; give a coarser spacing or a --size"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--size", "1,x,2,3"], "--size expects three comma-separated numbers above 0 and below 1000000, got '1,x,2,3'"),
        (["evaluate", "--modle", "Models/std-net"], "unexpected argument '--modle'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--spacing", "0.1,0.1,0.1"],
         "--spacing 0.1,0.1,0.1 takes more than 268435456 voxels to span the 360 x 264 x 180 mm abdomen of the phantoms; give a coarser spacing"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--spacing", "3,,3,5"], "--spacing expects three positive numbers, got '3,,3,5'"),
        (["train", "--out", "/dev/null/stdnet-checkpoints", "--steps", "1", "--window", "8,16,16"],
         "cannot write checkpoints to --out /dev/null/stdnet-checkpoints: Not a directory"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "2", "--warmup", "5"],
         "a warm-up of 5 steps does not end before the last of the run's 2 steps, so the learning rate never decays: give a smaller --warmup"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--batch", "0"], "--batch expects a positive number of windows, got 0"),
        (["evaluate", "--model", ServiceProcess.packageRoot.appendingPathComponent("Models/std-net").path, "--lesion-grow-threshold", "0.99"],
         "--lesion-grow-threshold 0.99 must be at most the lesion threshold 0.95: give a lower --lesion-grow-threshold or a higher --lesion-threshold"),
        (["evaluate", "--seed", "-3"], "option --seed expects a non-negative integer, got '-3'"),
        (["train", "--out", "/tmp/stdnet-unused", "--steps", "1", "--seed", "-3"], "option --seed expects a non-negative integer, got '-3'"),
        (["phantom", "--out", "/tmp/stdnet-unused", "--seed", "-3"], "option --seed expects a non-negative integer, got '-3'"),
        (["evaluate", "--patients", "1", "--patients", "2"], "option --patients was given twice"),
        (["evaluate", "--patients=1", "--patients", "2"], "option --patients was given twice"),
        (["submit", "--wait", "--wait", "--noop", "1"], "option --wait was given twice"),
        (["worker", "--model", "/tmp/stdnet-unused", "--no-model"], "--model /tmp/stdnet-unused and --no-model contradict each other"),
        (["worker", "--model", "/tmp/stdnet-no-such-folder"], "model folder /tmp/stdnet-no-such-folder does not exist; give a folder written by 'stdnet train'"),
        (["status", "--study", ""], "--study expects comma-separated study IDs (positive integers), got ''"),
        (["status", "--study", "7,,8"], "--study expects comma-separated study IDs (positive integers), got '7,,8'"),
        (["status", "--study", "seven"], "--study expects comma-separated study IDs (positive integers), got 'seven'"),
        (["status", "--study", "21", "22", "23"],
         "give job IDs or --study, not both: 22 23 would be read as jobs. Several studies go comma-separated, as in --study 21,22,23"),
        (["status", "-1"], "job IDs are positive integers, got '-1'"),
        (["history", "P-1", "--plot", "/tmp/stdnet-no-such-folder/plot.svg"],
         "the folder of --plot, /tmp/stdnet-no-such-folder, does not exist; create it first"),
        (["evaluate", "--json", "/tmp/stdnet-no-such-folder/report.json"],
         "the folder of --json, /tmp/stdnet-no-such-folder, does not exist; create it first"),
        // Checked before any volume is read, so the files need not exist.
        (["submit", "--nifti", "NC=nc.nii,PV=pv.nii", "--patient", "P", "--modality", "PET"], "--modality expects CT or MR, got 'PET'"),
        (["submit", "--nifti", "NC=nc.nii,PV=pv.nii", "--patient", "P", "--study-date", "2026-02-30"],
         "--study-date expects a calendar date as YYYY-MM-DD, got '2026-02-30'"),
        (["submit", "--nifti", "NC=a.nii,nc=b.nii,PV=pv.nii", "--patient", "P"], "--nifti gives phase NC twice (a.nii and b.nii)"),
        (["submit", "--nifti", "PV=pv.nii", "--patient", "P"], "--nifti gives 1 phase(s); multiphase analysis needs at least two of NC, AP, PV, DP"),
        (["submit", "/tmp/stdnet-no-such-folder", "--patient", "P"], "--patient applies to NIfTI volumes only: DICOM files carry their own patient, date and modality"),
        (["submit", "/tmp/stdnet-no-such-folder", "--modality", "MR"], "--modality applies to NIfTI volumes only"),
        (["submit", "/tmp/stdnet-no-such-folder", "--phase", "1=NC,1=AP"], "--phase maps series 1 twice (NC and AP); give each series one phase"),
        (["submit", "/tmp/stdnet-no-such-folder", "--phase", "1=AP,2=AP"], "--phase maps series 1 and 2 both to AP; a study has one series per phase"),
        (["convert", "/tmp/stdnet-no-such-folder", "/tmp/stdnet-unused", "--phase", "3=PV,3=DP"], "--phase maps series 3 twice (PV and DP); give each series one phase"),
    ]

    /// A usage error names the mistake and points to the help, without the whole usage text.
    @Test func usageErrorPointsToHelp() throws {
        let process = try ServiceProcess(["status", "--timeout", "0"], label: "usage-error")
        #expect(process.wait(timeout: .seconds(30)) == 2, "\(process.output)")
        #expect(process.output.contains("Run 'stdnet status --help' for its options."), "\(process.output)")
        #expect(!process.output.contains("usage: stdnet status"), "\(process.output)")
    }

    /// A lower-case modality passes the client's checks and fails only on the missing file.
    @Test func lowerCaseModalityAccepted() throws {
        let process = try ServiceProcess(["submit", "--nifti", "NC=/tmp/stdnet-missing-nc.nii,PV=/tmp/stdnet-missing-pv.nii",
                                          "--patient", "P", "--modality", "mr"], label: "submit-modality")
        #expect(process.wait(timeout: .seconds(30)) == 1, "\(process.output)")
        #expect(process.output.contains("the NC volume /tmp/stdnet-missing-nc.nii was not found"), "\(process.output)")
    }

    /// A checkpoint fixes the architecture and spacing, so a resume that requests others is
    /// rejected rather than run on the checkpoint's own.
    @Test func resumeWithOtherModelSettingsRejected() throws {
        let folder = try EvaluateCommandTests.trainOneStep()
        defer { try? FileManager.default.removeItem(at: folder) }
        let resumes: [(arguments: [String], message: String)] = [
            (["--architecture", "early-fusion"], "--architecture early-fusion differs from the checkpoint in \(folder.path), which is std-net"),
            (["--spacing", "3,3,5"], "--spacing differs from the checkpoint in \(folder.path), which works at 6.0,6.0,10.0 mm"),
        ]
        for (arguments, message) in resumes {
            let resume = try ServiceProcess(["train", "--out", folder.path, "--steps", "2", "--resume", "--window", "8,16,16"] + arguments,
                                            label: "train-resume")
            #expect(resume.wait(timeout: .seconds(120)) == 2, "\(resume.output)")
            #expect(resume.output.contains(message), "\(resume.output)")
        }
    }

    /// A phantom is not written over an earlier one, whose files for a phase or timepoint
    /// left out now would stay and be submitted with the new ones.
    @Test func phantomKeepsEarlierPatient() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-phantom-again-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("patient-002/timepoint-0/dicom/AP"), withIntermediateDirectories: true)
        let process = try ServiceProcess(["phantom", "--out", folder.path, "--patients", "2", "--drop-phase", "AP"], label: "phantom-again")
        #expect(process.wait(timeout: .seconds(60)) == 2, "\(process.output)")
        #expect(process.output.contains("\(folder.path)/patient-002 exists already: remove it, or give another --out"), "\(process.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("patient-001").path))
    }

    /// A new run into a folder that contains a model is rejected, and the model kept.
    @Test func newRunKeepsExistingModel() throws {
        let folder = try EvaluateCommandTests.trainOneStep()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))
        let run = try ServiceProcess(["train", "--out", folder.path, "--steps", "1", "--window", "8,16,16"], label: "train-over-model")
        #expect(run.wait(timeout: .seconds(120)) == 2, "\(run.output)")
        #expect(run.output.contains("--out \(folder.path) already contains a model (config.json): give --resume to continue training it, or another --out to start a new run"),
                "\(run.output)")
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == weights)
    }

    /// A resume continues with the settings stored beside the checkpoint; an option given
    /// replaces its stored value.
    @Test func resumeKeepsStoredSettings() throws {
        let folder = try EvaluateCommandTests.trainOneStep()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settingsURL = folder.appendingPathComponent("training.json")
        let first = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: settingsURL)) as? [String: Any])
        #expect(first["steps"] as? Int == 1)
        #expect(first["window"] as? [Int] == [8, 16, 16])
        #expect(first["learningRate"] as? Double == 0.002)

        func resume(_ arguments: [String]) throws -> ServiceProcess {
            let process = try ServiceProcess(["train", "--out", folder.path, "--resume"] + arguments, label: "train-resume-settings")
            #expect(process.wait(timeout: .seconds(120)) == 0, "\(process.output)")
            return process
        }
        let second = try resume(["--steps", "2", "--learning-rate", "0.0005", "--lesion-weight", "2", "--lesion-centring", "lesion"])
        #expect(second.output.contains("settings (from training.json and the options given): batch 1, seed 1, peak learning rate 0.0005, warm-up steps 1, window 8,16,16, motion 10.0 mm"),
                "\(second.output)")
        let stored = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: settingsURL)) as? [String: Any])
        #expect(stored["steps"] as? Int == 2)
        #expect(stored["learningRate"] as? Double == 0.0005)
        #expect(stored["lesionWeight"] as? Double == 2)
        #expect(stored["lesionCentring"] as? String == "lesion")

        // Only --steps given: the loss weight and the centring of the second run carry over.
        let third = try resume(["--steps", "3"])
        #expect(third.output.contains("lesion centring lesion, per-lesion Dice weight 0.0, lesion cross-entropy weight 2.0"), "\(third.output)")

        try FileManager.default.removeItem(at: settingsURL)
        // Without training.json the window comes from config.json, not the default 32,64,64.
        let withoutSettings = try resume(["--steps", "4"])
        #expect(withoutSettings.output.contains("no training.json in \(folder.path): resuming with the default settings, the window in config.json and the options given"),
                "\(withoutSettings.output)")
        #expect(withoutSettings.output.contains("window 8,16,16,"), "\(withoutSettings.output)")
        #expect(withoutSettings.output.contains("lesion cross-entropy weight 1.0"), "\(withoutSettings.output)")

        let outOfRange = [(#"{"steps": 5, "lesionFraction": 2}"#, "lesionFraction must be from 0 to 1, got 2.0"),
                          (#"{"steps": 5, "motion": 1000}"#, "motion must be from 0 to 50 mm, got 1000")]
        for (settings, problem) in outOfRange {
            try Data(settings.utf8).write(to: settingsURL)
            let rejected = try ServiceProcess(["train", "--out", folder.path, "--resume"], label: "train-resume-out-of-range")
            #expect(rejected.wait(timeout: .seconds(120)) == 1, "\(rejected.output)")
            #expect(rejected.output.contains("\(settingsURL.path): \(problem)"), "\(rejected.output)")
        }

        // Multiples of 8, but 4,194,304 voxels: each checkpoint would write a window no command loads.
        try Data(#"{"steps": 5, "window": [8, 512, 1024]}"#.utf8).write(to: settingsURL)
        let tooLarge = try ServiceProcess(["train", "--out", folder.path, "--resume"], label: "train-resume-window")
        #expect(tooLarge.wait(timeout: .seconds(120)) == 1, "\(tooLarge.output)")
        #expect(tooLarge.output.contains("\(settingsURL.path): window [8, 512, 1024] has more than 2097152 voxels, which config.json cannot store"),
                "\(tooLarge.output)")

        try Data(#"{"steps": 5, "lesionWieght": 3, "dropPhaseRate": 0.2}"#.utf8).write(to: settingsURL)
        let unknown = try ServiceProcess(["train", "--out", folder.path, "--resume"], label: "train-resume-unknown")
        #expect(unknown.wait(timeout: .seconds(120)) == 1, "\(unknown.output)")
        #expect(unknown.output.contains("\(settingsURL.path) has unknown settings: dropPhaseRate, lesionWieght. "
                                        + "Resume with the stdnet that wrote them, or remove them to resume without them"), "\(unknown.output)")
    }

    /// A study JSON file's mistakes are named by the file and field, not by the options.
    @Test func studyDescriptionFieldsNamed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-study-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let cases = [
            (#"{"patient": "P-1", "studyDate": "2026-02-30", "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#,
             "\(file.path): studyDate expects a calendar date as YYYY-MM-DD, got '2026-02-30'"),
            (#"{"patient": "P-1", "modality": "PET", "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#,
             "\(file.path): modality expects CT or MR, got 'PET'"),
            (#"{"patient": 1234, "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#,
             "\(file.path): patient expects a string in quotes"),
            (#"{"phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#, "\(file.path): patient is missing"),
            (#"{"patient": "P-1", "phases": {"NC": 1, "PV": "pv.nii"}}"#, "\(file.path): phases.NC expects a string in quotes"),
            (#"{"patient": "P-1", "phases": ["nc.nii", "pv.nii"]}"#,
             "\(file.path): phases expects an object from phase codes (NC, AP, PV, DP) to NIfTI files"),
            (#"["nc.nii", "pv.nii"]"#, "\(file.path): expected a JSON object with patient and phases"),
            (#"{"patient": "P-1", "#, "\(file.path): not valid JSON"),
            (#"{"patient": "P-1", "studyDat": "2026-01-05", "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#,
             "\(file.path): unknown field 'studyDat'; the fields are patient, studyDate, modality, phases"),
            (#"{"patient": " ", "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#, "\(file.path): patient is empty; give the Patient ID"),
            (#"{"patient": "P-1", "phases": {}}"#, "\(file.path): phases gives 0 phase(s); multiphase analysis needs at least two of NC, AP, PV, DP"),
            (#"{"patient": "P-1", "phases": {"NC": "nc.nii", "PV": "pv.nii", "N\u0043": "ap.nii"}}"#, "\(file.path): phases.NC is given twice"),
            (#"{"patient": "P-1", "phases": {"NC": "a\"PV\".nii", "PV": "pv.nii"}, "patient": "P-2"}"#, "\(file.path): patient is given twice"),
        ]
        for (text, message) in cases {
            try Data(text.utf8).write(to: file)
            let process = try ServiceProcess(["submit", file.path], label: "submit-json")
            #expect(process.wait(timeout: .seconds(30)) == 2, "\(process.output)")
            #expect(process.output.contains(message), "\(process.output)")
        }

        // UTF-16, as PowerShell 5 writes it: little-endian with a byte order mark. U+5C22 is encoded
        // as the bytes of a quote and a backslash, which a scan of raw bytes misreads.
        let utf16 = #"{"patient": "\#u{5C22}", "phases": {"NC": "nc.nii", "NC": "pv.nii"}}"#
        try Data([0xFF, 0xFE] + utf16.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }).write(to: file)
        let wide = try ServiceProcess(["submit", file.path], label: "submit-json-utf16")
        #expect(wide.wait(timeout: .seconds(30)) == 2, "\(wide.output)")
        #expect(wide.output.contains("\(file.path): phases.NC is given twice"), "\(wide.output)")

        // The file sets what --nifti takes from options, so those options are rejected.
        try Data(#"{"patient": "P-1", "phases": {"NC": "nc.nii", "PV": "pv.nii"}}"#.utf8).write(to: file)
        let options = [(["--patient", "P-2"], "--patient does not apply to a study JSON file: set patient in \(file.path)"),
                       (["--study-date", "2026-01-05"], "--study-date does not apply to a study JSON file: set studyDate in \(file.path)")]
        for (arguments, message) in options {
            let process = try ServiceProcess(["submit", file.path] + arguments, label: "submit-json-options")
            #expect(process.wait(timeout: .seconds(30)) == 2, "\(process.output)")
            #expect(process.output.contains(message), "\(process.output)")
        }

        // A folder whose name ends in .json.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stdnet-study-\(UUID().uuidString).JSON")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let folderDescription = try ServiceProcess(["submit", folder.path], label: "submit-json-folder-name")
        #expect(folderDescription.wait(timeout: .seconds(30)) == 2, "\(folderDescription.output)")
        #expect(folderDescription.output.contains("the study description \(folder.path) is a folder, not a JSON file"), "\(folderDescription.output)")

        // A volume path that names a folder (an empty path names the JSON file's own folder).
        try Data(#"{"patient": "P-1", "phases": {"NC": "", "PV": "pv.nii"}}"#.utf8).write(to: file)
        let folderPath = try ServiceProcess(["submit", file.path], label: "submit-json-folder")
        #expect(folderPath.wait(timeout: .seconds(30)) == 1, "\(folderPath.output)")
        #expect(folderPath.output.contains("the NC volume \(file.deletingLastPathComponent().path) is a folder; give a NIfTI file (.nii or .nii.gz)"),
                "\(folderPath.output)")
    }

    @Test(arguments: 0..<cases.count)
    func invalidCommandLineRejected(_ index: Int) throws {
        let (arguments, message) = Self.cases[index]
        let process = try ServiceProcess(arguments, label: "command-line")
        #expect(process.wait(timeout: .seconds(30)) == 2, "stdnet \(arguments.joined(separator: " ")): \(process.output)")
        #expect(process.output.contains(message), "stdnet \(arguments.joined(separator: " ")): \(process.output)")
    }
}
