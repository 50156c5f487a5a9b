// `stdnet phantom`: writes synthetic multiphase liver studies with ground truth.
import Foundation
import Imaging
import Phantom

enum PhantomCommand: Command {
    static let name = "phantom"
    static let summary = "generate synthetic multiphase liver studies with ground truth"
    static let usage = """
        usage: stdnet phantom --out DIR [--patients N] [--timepoints T] [--seed S] [OPTIONS]

        Writes DIR/patient-NNN/timepoint-T/ with a DICOM series and a NIfTI volume (.nii) per phase,
        labels.nii.gz (0 background, 1 liver, 2 lesion), lesions.nii.gz (lesion IDs) and
        manifest.json. The same seed and options give the same files, and other options other
        DICOM UIDs. A patient folder that exists already is not written over: remove it first.
        Synthetic data for development and training only.

          --patients N           patients (default 1)
          --timepoints T         studies per patient, months apart (default 1)
          --seed S               random seed (default 1)
          --size X,Y,Z           voxels of the portal venous grid (default: as many as span
                                 360 x 264 x 180 mm, the field of view the shipped model
                                 was trained on, at --spacing; 257,188,72 at the default
                                 spacing)
          --spacing X,Y,Z        voxel spacing in mm (default 1.4,1.4,2.5)
          --motion MM            largest breathing shift between phases, 0 to 50 mm (default 10)
          --drop-phase PHASES    comma-separated phases to leave out (NC, AP, PV, DP)
          --arterial-slice MM    slice spacing of the arterial phase, if different
          --mri                  MRI-like signal instead of HU, written as MR Image Storage
          --months M             months between studies (default 3)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let givenOutput = try arguments.option("out")
        let patients = try arguments.integer("patients", default: 1)
        let timepoints = try arguments.integer("timepoints", default: 1)
        let seed = try arguments.nonNegativeInteger("seed", default: 1)
        var options = PhantomOptions()
        let voxelLimit = PhantomOptions.largestGridVoxels
        let spacing = try arguments.option("spacing")
        if let spacing { options.spacing = try triple(spacing, option: "spacing", Vector3.self) }
        if let size = try arguments.option("size") {
            options.size = try triple(size, option: "size", VolumeSize.self)
            // Each value is below a million, so the product cannot overflow.
            guard options.size.x * options.size.y * options.size.z <= voxelLimit else {
                throw UsageError("--size \(size) has more than \(voxelLimit) voxels (for example 1024,1024,256); give a smaller size")
            }
        } else if let spacing {
            guard let size = PhantomOptions.boundedAbdomenGrid(spacing: options.spacing) else {
                throw UsageError("--spacing \(spacing) takes more than \(voxelLimit) voxels to span the default field of view of \(PhantomOptions.abdomenFieldOfViewText) mm; give a coarser spacing or a --size")
            }
            options.size = size
        }
        options.motionMillimetres = try arguments.number("motion", in: PhantomOptions.motionRange, noun: "millimetres",
                                                         default: options.motionMillimetres)
        if let dropped = try arguments.option("drop-phase") {
            options.droppedPhases = Set(try dropped.split(separator: ",").map { code in
                guard let phase = Phase(code: String(code)) else { throw UsageError("unknown phase '\(code)'; use NC, AP, PV or DP") }
                return phase
            })
            guard !options.droppedPhases.contains(.portalVenous) else {
                throw UsageError("the portal venous phase carries the label maps and cannot be dropped")
            }
        }
        if let slice = try arguments.option("arterial-slice") {
            guard let value = Double(slice), value > 0 else { throw UsageError("--arterial-slice expects millimetres, got '\(slice)'") }
            options.sliceSpacing[.arterial] = value
        }
        options.mriLike = try arguments.flag("mri")
        if let months = try arguments.option("months") {
            guard let value = Double(months), value > 0 else { throw UsageError("--months expects a positive number, got '\(months)'") }
            options.monthsBetweenStudies = value
        }
        try arguments.finish()
        let output = try required(givenOutput, "--out DIR")
        guard patients >= 1, timepoints >= 1 else { throw UsageError("--patients and --timepoints must be at least 1, got \(patients) and \(timepoints)") }

        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), !isFolder.boolValue {
            throw UsageError("--out \(output) is a file; give a folder, which is created if missing")
        }
        let root = URL(fileURLWithPath: output)
        let patientFolders = (1...patients).map { root.appendingPathComponent(String(format: "patient-%03d", $0)) }
        // Files of an earlier run (a phase or timepoint this one leaves out) would stay beside
        // the new ones and be submitted with them.
        if let existing = patientFolders.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw UsageError("\(existing.path) exists already: remove it, or give another --out")
        }
        for (number, patientFolder) in zip(1..., patientFolders) {
            let patient = PhantomPatient(seed: seed, number: number, options: options)
            for timepoint in 0..<timepoints {
                let folder = patientFolder.appendingPathComponent("timepoint-\(timepoint)")
                let started = ContinuousClock.now
                let manifest = try PhantomWriter.write(patient.renderStudy(timepoint: timepoint), of: patient, to: folder)
                let elapsed = ContinuousClock.now - started
                print("wrote \(folder.path): \(manifest.phases.joined(separator: ",")), \(manifest.lesions.count) lesion(s), \(elapsed.components.seconds) s")
            }
        }
        return 0
    }

    private static func triple<T: SIMD>(_ text: String, option: String, _ type: T.Type) throws -> T
    where T.Scalar: LosslessStringConvertible & Comparable & ExpressibleByIntegerLiteral {
        // "inf" parses as a Double, and is not above every finite number.
        guard let parts: [T.Scalar] = commaSeparatedValues(text, count: 3), parts.allSatisfy({ $0 > 0 && $0 < 1_000_000 }) else {
            throw UsageError("--\(option) expects three comma-separated numbers above 0 and below 1000000, got '\(text)'")
        }
        var value = T()
        for index in 0..<3 { value[index] = parts[index] }
        return value
    }
}
