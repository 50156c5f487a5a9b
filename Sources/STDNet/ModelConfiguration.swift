// The JSON model configuration stored beside the weights.

/// Which network a configuration describes.
public enum Architecture: String, Codable, Sendable {
    /// Shared-weight spatial encoder per phase, temporal transformer across phases at every
    /// level, decoder on the fused features.
    case stdNet = "std-net"
    /// The baseline: the phases stacked as input channels of one encoder-decoder.
    case earlyFusion = "early-fusion"
}

/// Sizes of the network. Stored as config.json beside the safetensors weights.
public struct ModelConfiguration: Codable, Sendable, Equatable {
    public var architecture: Architecture
    /// Channels of the encoder stages; each stage after the first halves the grid.
    public var channels: [Int]
    /// Phase slots in order (NC, AP, PV, DP); a study may leave some empty.
    public var phaseSlots: Int
    /// Attention heads of the temporal modules.
    public var heads: Int
    /// Hidden width of the temporal MLP relative to the channels.
    public var mlpRatio: Int
    /// Segmentation classes: background, liver, lesion.
    public var segmentationClasses: Int
    /// Lesion classes of the characterisation head: HCC, metastasis, haemangioma, cyst, FNH.
    public var lesionClasses: [String]
    /// Hidden width of the characterisation head.
    public var characterisationHidden: Int
    /// Voxel spacing the network works at, in mm (x, y, z).
    public var spacing: [Double]
    /// Lesion probability from which a voxel is labelled lesion, chosen on validation phantoms.
    /// Below it a voxel is liver when liver and lesion together outweigh background. Nil labels
    /// every voxel with its most probable class.
    public var lesionThreshold: Double?
    /// Lesion probability down to which a lesion labelled from `lesionThreshold` takes in the
    /// voxels connected to it (hysteresis thresholding), chosen on validation phantoms. Nil
    /// labels lesion only from `lesionThreshold`.
    public var lesionGrowThreshold: Double?
    /// Window (D, H, W) in voxels of the model's last training run, which the analysis slides.
    /// Nil in files written before it was stored (see ``slidingWindow``).
    public var window: [Int]?

    public init(architecture: Architecture = .stdNet, channels: [Int] = [16, 32, 64, 128], phaseSlots: Int = 4, heads: Int = 4,
                mlpRatio: Int = 2, segmentationClasses: Int = 3,
                lesionClasses: [String] = ["HCC", "metastasis", "haemangioma", "cyst", "FNH"],
                characterisationHidden: Int = 64, spacing: [Double] = [1.5, 1.5, 2.5], lesionThreshold: Double? = nil,
                lesionGrowThreshold: Double? = nil) {
        self.architecture = architecture
        self.channels = channels
        self.phaseSlots = phaseSlots
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.segmentationClasses = segmentationClasses
        self.lesionClasses = lesionClasses
        self.characterisationHidden = characterisationHidden
        self.spacing = spacing
        self.lesionThreshold = lesionThreshold
        self.lesionGrowThreshold = lesionGrowThreshold
    }

    /// The largest number of voxels a stored window may contain: 16 times the shipped 32 x 64 x
    /// 64, as in 64 x 128 x 256. It bounds the activation memory a config.json can demand.
    public static let largestWindowVoxels = 1 << 21

    /// Returns whether `window` has at most ``largestWindowVoxels`` voxels. Each extent is
    /// checked against the limit first, so the product cannot overflow.
    public static func isWithinVoxelLimit(_ window: [Int]) -> Bool {
        window.allSatisfy { $0 <= largestWindowVoxels } && window.reduce(1, *) <= largestWindowVoxels
    }

    /// The sliding window in voxels (D, H, W) that analyses and evaluations use: the training
    /// window, or 32 x 64 x 64, the window of the shipped weights, when none is stored.
    public var slidingWindow: [Int] { window ?? [32, 64, 64] }

    /// Grid extents must be multiples of this, so every downsampling halves them exactly.
    public var gridMultiple: Int { 1 << (channels.count - 1) }

    /// Returns the keys of a decoded config.json object that name no setting, sorted.
    static func unknownKeys(of object: [String: Any]) -> [String] {
        object.keys.filter { CodingKeys(stringValue: $0) == nil }.sorted()
    }

    /// Describes the first size of the network that it cannot be built with, or returns nil.
    /// The weights' shapes follow the sizes, so the weights file checks the rest.
    var invalidSize: String? {
        // Each stage halves the grid, so 8 stages already need window extents in multiples of
        // 128; the shipped networks have 4.
        if channels.isEmpty || channels.count > 8 || channels.contains(where: { $0 <= 0 }) {
            return "channels \(channels) must be 1 to 8 positive counts"
        }
        if heads <= 0 { return "heads must be positive, got \(heads)" }
        if architecture == .stdNet, let stage = channels.first(where: { $0 % heads != 0 }) {
            return "heads \(heads) must divide the channels of every stage, and \(stage) does not"
        }
        return nil
    }
}
