// `stdnet export`: a study's label map as NIfTI and its key images as PNG files.
import Foundation
import Imaging
import Wire

enum ExportCommand: Command {
    static let name = "export"
    static let summary = "write a study's label map (NIfTI) and key images (PNG); audited"
    static let usage = """
        usage: stdnet export STUDY [--labels OUT.nii.gz] [--key-images DIR] [--user NAME] [OPTIONS]

        Reads the files of the study's finished analysis through the coordinator. The label map
        (0 background, 1 liver, 2 lesion) lies on the model's grid in patient space; the key images
        show each lesion's slice in the NC, AP, PV and DP phases with its contour, numbered as in
        'stdnet history'. The coordinator writes each export to the audit log with the user named.

          --labels FILE       NIfTI-1 file for the label map (.nii or .nii.gz), in an existing
                              folder
          --key-images DIR    folder for key-image-N.png, created if missing
          --user NAME         who asks, for the audit log (env STDNET_USER, then USER, then the account name)
        \(clientUsage(timeout: "default 60"))
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        let user = try auditUser(&arguments)
        let labelsPath = try arguments.option("labels")
        let keyImageFolder = try arguments.option("key-images")
        let client = try parseClient(&arguments, defaultTimeout: .seconds(60))
        let positionals = try arguments.positionals()
        guard positionals.count == 1, let study = Int64(positionals[0]), study > 0 else {
            throw UsageError("expected one study ID (a positive integer), got '\(positionals.joined(separator: " "))'")
        }
        guard labelsPath != nil || keyImageFolder != nil else { throw UsageError("name what to export: --labels FILE and/or --key-images DIR") }
        if let labelsPath {
            let name = URL(fileURLWithPath: labelsPath).lastPathComponent
            guard name.hasSuffix(".nii") || name.hasSuffix(".nii.gz"), ![".nii", ".nii.gz"].contains(name) else {
                throw UsageError("--labels names a NIfTI-1 file, whose name ends in .nii or .nii.gz: got '\(labelsPath)'")
            }
            // Unlike --key-images, --labels creates no folder.
            try requireFolder(ofFile: labelsPath, option: "--labels")
        }
        if let keyImageFolder {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: keyImageFolder, isDirectory: &isFolder), !isFolder.boolValue {
                throw UsageError("--key-images names a folder, and \(keyImageFolder) is a file")
            }
        }

        let reply = try client.exchange(.export(ExportRequest(request: UUID().uuidString, study: study, user: user)))
        guard case .exportReply(let export) = reply.message else { throw ClientError("unexpected reply \(reply.message.name) to EXPORT") }
        if let labelsPath {
            guard let labels = reply.attachments.first(where: { $0.name == "labels" }) else {
                throw ClientError("the analysis of study \(study) has no label map stored")
            }
            let volume = try labelVolume(labels.data, on: export.labelGrid)
            try NIfTIWriter.write(volume, to: labelsPath, description: "stdnet labels: 0 background, 1 liver, 2 lesion")
            print("label map written to \(labelsPath)")
        }
        if let keyImageFolder {
            let images = reply.attachments.filter { $0.name.hasPrefix("key-image-") && $0.name.hasSuffix(".png") }
            do {
                try FileManager.default.createDirectory(atPath: keyImageFolder, withIntermediateDirectories: true)
                for image in images {
                    try image.data.write(to: URL(fileURLWithPath: keyImageFolder).appendingPathComponent(image.name))
                }
            } catch let error as CocoaError {
                throw ClientError("cannot write the key images to \(keyImageFolder): \(systemReason(error))")
            }
            print("\(images.count) key image(s) written to \(keyImageFolder)")
        }
        return 0
    }

    /// Builds the label volume from the reply's bytes and grid, checking that they agree.
    static func labelVolume(_ data: Data, on grid: LabelGrid) throws -> Volume<UInt8> {
        guard let geometry = Geometry(size: grid.size, spacing: grid.spacing, origin: grid.origin, rowMajorDirection: grid.direction),
              grid.size.reduce(1, *) == data.count else {
            throw ClientError("the label map (\(data.count) bytes) does not match its grid \(grid.size)")
        }
        return Volume(geometry: geometry, voxels: [UInt8](data))
    }
}
