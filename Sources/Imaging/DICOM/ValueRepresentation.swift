// DICOM value representations (PS3.5 6.2) and how explicit VR encodes their lengths.

/// A value representation: the data type of an attribute's value.
public enum ValueRepresentation: String, Sendable, CaseIterable {
    case AE, AS, AT, CS, DA, DS, DT, FL, FD, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS,
         ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV

    /// Whether explicit VR encoding gives this VR two reserved bytes and a 32-bit length
    /// (PS3.5 table 7.1-1) rather than a 16-bit length.
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Whether the value is text, padded with spaces (or NUL for UI) to an even length.
    public var isText: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }

    /// Creates a VR from the two bytes of an explicit VR header, or returns nil when they name none.
    init?(bytes first: UInt8, _ second: UInt8) {
        guard let text = String(bytes: [first, second], encoding: .ascii) else { return nil }
        self.init(rawValue: text)
    }
}
