// The Image Pixel module attributes that describe the layout of stored pixel values (PS3.3 C.7.6.3).

/// The layout of the stored values of a pixel data element.
public struct PixelDescription: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    /// 1, 8, 16 or 32.
    public var bitsAllocated: Int
    public var bitsStored: Int
    /// Whether stored values are two's complement (Pixel Representation 1).
    public var isSigned: Bool
    public var numberOfFrames: Int
    public var photometricInterpretation: String
    /// 0 when samples of a pixel are interleaved, 1 when each sample has its own plane.
    public var planarConfiguration: Int

    /// Reads the Image Pixel module of a data set.
    ///
    /// - throws: `DicomError` naming the tag when a required attribute is missing or invalid.
    public init(_ dataSet: DataSet) throws {
        rows = try dataSet.requiredInteger(.rows, "Rows")
        columns = try dataSet.requiredInteger(.columns, "Columns")
        bitsAllocated = try dataSet.requiredInteger(.bitsAllocated, "Bits Allocated")
        bitsStored = try dataSet.integer(.bitsStored) ?? bitsAllocated
        samplesPerPixel = try dataSet.integer(.samplesPerPixel) ?? 1
        isSigned = try dataSet.integer(.pixelRepresentation) == 1
        numberOfFrames = try dataSet.integer(.numberOfFrames) ?? 1
        photometricInterpretation = dataSet.string(.photometricInterpretation) ?? "MONOCHROME2"
        planarConfiguration = try dataSet.integer(.planarConfiguration) ?? 0

        guard rows > 0, columns > 0 else {
            throw dataSet.error(.rows, "image size \(rows) x \(columns) is empty")
        }
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw dataSet.error(.bitsAllocated, "Bits Allocated \(bitsAllocated) is not supported (1, 8, 16 or 32)")
        }
        guard bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw dataSet.error(.bitsStored, "Bits Stored \(bitsStored) is not between 1 and Bits Allocated \(bitsAllocated)")
        }
        guard samplesPerPixel == 1 || samplesPerPixel == 3 else {
            throw dataSet.error(.samplesPerPixel, "Samples per Pixel \(samplesPerPixel) is not 1 or 3")
        }
        guard numberOfFrames >= 1 else {
            throw dataSet.error(.numberOfFrames, "Number of Frames \(numberOfFrames) is less than 1")
        }
    }

    /// Samples in one frame.
    public var samplesPerFrame: Int { rows * columns * samplesPerPixel }

    /// Bytes of one decoded sample: 1 for 1-bit data, which decodes to one byte per pixel.
    public var bytesPerSample: Int { max(bitsAllocated / 8, 1) }

    /// Bytes of one frame as stored natively; 1-bit frames are packed, eight pixels a byte.
    public var nativeFrameLength: Int {
        bitsAllocated == 1 ? (samplesPerFrame + 7) / 8 : samplesPerFrame * bitsAllocated / 8
    }
}
