// Links the lesions of a new study to the patient's lesion tracks from earlier studies.
import Imaging

/// A lesion of an earlier study, with its track, in that study's patient space.
public struct TrackedLesion: Sendable, Equatable {
    public let track: Int
    public let centroid: Vector3
    public let maximumDiameterMillimetres: Double

    public init(track: Int, centroid: Vector3, maximumDiameterMillimetres: Double) {
        self.track = track
        self.centroid = centroid
        self.maximumDiameterMillimetres = maximumDiameterMillimetres
    }
}

/// A lesion of the new study, in the new study's patient space.
public struct NewLesion: Sendable, Equatable {
    public let centroid: Vector3
    public let maximumDiameterMillimetres: Double

    public init(centroid: Vector3, maximumDiameterMillimetres: Double) {
        self.centroid = centroid
        self.maximumDiameterMillimetres = maximumDiameterMillimetres
    }
}

/// How the new study's lesions relate to the tracks.
public struct TrackAssignment: Sendable, Equatable {
    /// The track of each new lesion, in the order given.
    public var tracks: [Int] = []
    /// Tracks started by this study: lesions seen for the first time, and split-off parts.
    public var newTracks: [Int] = []
    /// Tracks with no lesion in this study.
    public var vanishedTracks: [Int] = []
    /// Earlier tracks that merged into the track of one new lesion: (surviving track, merged track).
    public var merges: [MergeOrSplit] = []
    /// New tracks that split off an earlier one: (earlier track, new track).
    public var splits: [MergeOrSplit] = []
}

/// A merge (`into` absorbed `other`) or a split (`other` split off `into`).
public struct MergeOrSplit: Sendable, Equatable {
    public let into: Int
    public let other: Int

    public init(into: Int, other: Int) {
        self.into = into
        self.other = other
    }
}

/// Assigns tracks to the new study's lesions.
///
/// `transform` maps the new study's patient space onto the earlier one (from ``alignRigidly``
/// on the liver surfaces). A new lesion and a track match when their centroids, after the
/// transform, lie within the gate: `gateMillimetres` or half the larger diameter, whichever is
/// larger. Pairs are taken closest first, one to one. A second new lesion within the gate of a
/// matched track is a split; a second track within the gate of a matched lesion is a merge.
public func assignTracks(previous: [TrackedLesion], current: [NewLesion], transform: RigidTransform,
                         firstNewTrack: Int, gateMillimetres: Double = 10) -> TrackAssignment {
    let moved = current.map { transform.apply($0.centroid) }
    func gate(_ a: TrackedLesion, _ b: NewLesion) -> Double {
        max(gateMillimetres, max(a.maximumDiameterMillimetres, b.maximumDiameterMillimetres) / 2)
    }

    var pairs: [(distance: Double, earlier: Int, new: Int)] = []
    for (earlierIndex, earlier) in previous.enumerated() {
        for (newIndex, lesion) in current.enumerated() {
            let distance = length(moved[newIndex] - earlier.centroid)
            if distance <= gate(earlier, lesion) { pairs.append((distance, earlierIndex, newIndex)) }
        }
    }
    pairs.sort { $0.distance < $1.distance }

    var trackOfNew = [Int?](repeating: nil, count: current.count)
    var matchedEarlier = Set<Int>()
    for pair in pairs where trackOfNew[pair.new] == nil && !matchedEarlier.contains(pair.earlier) {
        trackOfNew[pair.new] = previous[pair.earlier].track
        matchedEarlier.insert(pair.earlier)
    }

    var assignment = TrackAssignment()
    var nextTrack = firstNewTrack
    for newIndex in current.indices where trackOfNew[newIndex] == nil {
        trackOfNew[newIndex] = nextTrack
        assignment.newTracks.append(nextTrack)
        if let parent = pairs.first(where: { $0.new == newIndex }) {
            assignment.splits.append(MergeOrSplit(into: previous[parent.earlier].track, other: nextTrack))
        }
        nextTrack += 1
    }
    for earlierIndex in previous.indices where !matchedEarlier.contains(earlierIndex) {
        assignment.vanishedTracks.append(previous[earlierIndex].track)
        if let absorber = pairs.first(where: { $0.earlier == earlierIndex }) {
            assignment.merges.append(MergeOrSplit(into: trackOfNew[absorber.new]!, other: previous[earlierIndex].track))
        }
    }
    assignment.tracks = trackOfNew.map { $0! }
    return assignment
}
