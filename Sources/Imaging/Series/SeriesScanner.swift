// Finds the DICOM image series in a folder tree and groups their slices by Series Instance UID.
import Dispatch
import Foundation

/// A file that was not used, and why.
public struct SkippedFile: Sendable, Codable {
    /// The kind of a skipped file, which decides whether its series may lack a slice.
    public enum Kind: String, Sendable, Codable {
        /// Not DICOM: a text file, a NIfTI volume. A file named .dcm is never taken for one.
        case notDicom
        /// DICOM, but not a slice of a CT or MR volume: a structured report, a plan, a
        /// screenshot or another image without slice geometry.
        case notASlice
        /// DICOM that could not be read, or a CT or MR image without its slice geometry: a
        /// slice of some series may be lost with it.
        case damaged
    }

    public var path: String
    public var reason: String
    public var kind: Kind
}

/// The slices of one series as found on disk, in no particular order.
public struct DicomSeries: Sendable {
    public var attributes: SeriesAttributes
    public var slices: [ImageSlice]
    /// The reason the files cannot form one series (two of them name different patients or
    /// studies), or nil. Assembling such a series fails with this reason.
    public var inconsistency: String?

    public init(attributes: SeriesAttributes, slices: [ImageSlice], inconsistency: String? = nil) {
        self.attributes = attributes
        self.slices = slices
        self.inconsistency = inconsistency
    }
}

/// The result of scanning a folder.
public struct SeriesScan: Sendable {
    /// Series ordered by Series Number, then Series Instance UID.
    public var series: [DicomSeries]
    /// Files that are not DICOM images with a position, each with the reason.
    public var skipped: [SkippedFile]
}

/// Scans folder trees for DICOM images.
public enum SeriesScanner {
    /// Reads the header of every file under `folder` (pixel data is not read) and groups image
    /// slices by Series Instance UID. Files that fail to parse, hold no image or no geometry are
    /// listed in `skipped` with the error and what kind of file each is. A series whose files
    /// differ in Patient ID or Study Instance UID gets an ``DicomSeries/inconsistency`` naming
    /// two such files.
    ///
    /// - throws: an error only when `folder` cannot be listed.
    public static func scan(_ folder: String) throws -> SeriesScan {
        let paths = try regularFiles(under: folder)
        // Each task keeps only the slices and attributes, so no file's bytes outlive its task.
        let results = ConcurrentResults<ScannedFile>(count: paths.count)
        DispatchQueue.concurrentPerform(iterations: paths.count) { index in
            results[index] = scanFile(paths[index])
        }

        var skipped: [SkippedFile] = []
        var byUID: [String: DicomSeries] = [:]
        // Each series' files grouped by the identity they name, to find the ones that disagree.
        var identities: [String: [(attributes: SeriesAttributes, paths: [String])]] = [:]
        for (path, result) in zip(paths, results.values) {
            switch result {
            case .skipped(let reason, let kind):
                skipped.append(SkippedFile(path: path, reason: reason, kind: kind))
            case .image(let attributes, let slices):
                let uid = attributes.seriesInstanceUID
                byUID[uid, default: DicomSeries(attributes: attributes, slices: [])].slices += slices
                if let group = identities[uid, default: []].firstIndex(where: { differingIdentity($0.attributes, attributes) == nil }) {
                    identities[uid]![group].paths.append(path)
                } else {
                    identities[uid, default: []].append((attributes, [path]))
                }
            }
        }
        for (uid, groups) in identities where groups.count > 1 {
            byUID[uid]!.inconsistency = inconsistency(groups)
        }
        let series = byUID.values.sorted {
            ($0.attributes.seriesNumber ?? Int.max, $0.attributes.seriesInstanceUID) < ($1.attributes.seriesNumber ?? Int.max, $1.attributes.seriesInstanceUID)
        }
        return SeriesScan(series: series, skipped: skipped)
    }

    /// Describes a series whose files name more than one identity: the files that differ from
    /// most of the others, or from each other when no identity has most files. The identifying
    /// values themselves are left out.
    private static func inconsistency(_ groups: [(attributes: SeriesAttributes, paths: [String])]) -> String {
        let ordered = groups.sorted { $0.paths.count > $1.paths.count }
        let (majority, others) = (ordered[0], ordered.dropFirst())
        let attribute = differingIdentity(majority.attributes, others.first!.attributes)!
        guard majority.paths.count > others.first!.paths.count else {
            let examples = ordered.map { $0.paths[0] }.joined(separator: " and ")
            return "files of the same series differ in \(attribute), as many on each side (for example \(examples)); remove the files that do not belong"
        }
        let strays = others.flatMap(\.paths)
        let named = strays.prefix(3).joined(separator: ", ") + (strays.count > 3 ? " and \(strays.count - 3) more" : "")
        return "\(named) \(strays.count == 1 ? "has" : "have") another \(attribute) than the other \(majority.paths.count) file(s) of the same series; remove the files that do not belong"
    }

    /// Returns the name of the first identifying attribute in which two files of one series
    /// differ, or nil when they agree.
    static func differingIdentity(_ first: SeriesAttributes, _ second: SeriesAttributes) -> String? {
        if first.patientID != second.patientID { return "Patient ID" }
        if first.studyInstanceUID != second.studyInstanceUID { return "Study Instance UID" }
        return nil
    }

    /// The contribution of one file to a scan.
    private enum ScannedFile {
        case skipped(String, SkippedFile.Kind)
        case image(SeriesAttributes, [ImageSlice])
    }

    /// The SOP classes of CT and MR images, single-frame and enhanced, which are slices of a
    /// volume: one that cannot be placed is damage, not another kind of object.
    static let volumeImageClasses: Set<String> = [
        "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",
        "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.4",
    ]

    private static func scanFile(_ path: String) -> ScannedFile {
        let file: DicomFile
        do {
            file = try DicomFile(contentsOf: path, stopBeforePixelData: true)
        } catch {
            let isNotDicom = (error as? DicomError)?.isNotDicom == true && !path.lowercased().hasSuffix(".dcm")
            return .skipped(reason(error), isNotDicom ? .notDicom : .damaged)
        }
        // The file meta information names the SOP class too, which counts when the data set was
        // cut before its own. Every DICOM object has one, so a file without it is damaged.
        guard let sopClass = file.dataSet.string(.sopClassUID) ?? file.fileMeta.string(.mediaStorageSOPClassUID) else {
            return .skipped("SOP Class UID is missing; the file may be cut short", .damaged)
        }
        let isVolumeImage = volumeImageClasses.contains(sopClass)
        guard file.dataSet.contains(.rows) else {
            if isVolumeImage {
                return .skipped("Rows is missing from this CT or MR image (SOP Class UID \(sopClass)); the file may be cut short", .damaged)
            }
            return .skipped("no image (SOP Class UID \(sopClass))", .notASlice)
        }
        let otherImage = isVolumeImage ? "" : " (SOP Class UID \(sopClass), not a CT or MR image)"
        guard file.dataSet.string(.seriesInstanceUID) != nil else {
            return .skipped("Series Instance UID is missing" + otherImage, isVolumeImage ? .damaged : .notASlice)
        }
        do {
            return .image(SeriesAttributes(file.dataSet), try ImageSlice.slices(of: file))
        } catch {
            return .skipped(reason(error) + otherImage, isVolumeImage ? .damaged : .notASlice)
        }
    }

    /// Returns an error's message without the file name, which `SkippedFile` carries already.
    private static func reason(_ error: Error) -> String {
        (error as? DicomError)?.detail ?? "\(error)"
    }

    /// Lists regular files below a folder, sorted, skipping hidden files and DICOMDIR.
    static func regularFiles(under folder: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw DicomError(file: folder, "the folder does not exist")
        }
        guard isFolder.boolValue else {
            throw DicomError(file: folder, "this is a file, not a folder; give the folder that contains the series")
        }
        let root = URL(fileURLWithPath: folder)
        guard let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            throw DicomError(file: folder, "cannot list the folder")
        }
        var paths: [String] = []
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                  url.lastPathComponent.uppercased() != "DICOMDIR" else { continue }
            paths.append(url.path)
        }
        return paths.sorted()
    }
}

/// Results written by concurrent tasks, each to its own index.
final class ConcurrentResults<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element?]

    init(count: Int) { storage = [Element?](repeating: nil, count: count) }

    subscript(index: Int) -> Element? {
        get { lock.withLock { storage[index] } }
        set { lock.withLock { storage[index] = newValue } }
    }

    /// The results in index order; every index must have been written.
    var values: [Element] { lock.withLock { storage.map { $0! } } }
}
