// Dense Float32 tensors. Every op in this module takes and returns `Tensor` values; the layout
// conventions below are the contract between them.
//
// Layout conventions:
// - Row-major, last axis contiguous.
// - Volumes are channels-last: (N, D, H, W, C). oneDNN's AVX-512 convolution kernels run directly
//   on this layout, and for C = 16 it is byte-identical to oneDNN's blocked nCdhw16c layout.
// - Token sequences are (B, T, C); a key-padding mask is (B, T) with `true` for a present token.

import Foundation
import MemoryPolicy

/// A dense, row-major tensor of `Float` values with value semantics.
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]

    /// The elements in row-major order; `scalars.count` is the product of `shape`.
    public var scalars: [Float]

    /// Creates a tensor from its elements in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(
            shape.reduce(1, *) == scalars.count,
            "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// Creates a tensor with every element equal to `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(uninitializedShape: shape)
        scalars.withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }

    /// Creates a tensor whose elements are unspecified, for outputs that a kernel overwrites
    /// completely. Skipping the zero fill matters for volumes of hundreds of megabytes, and so
    /// does backing them with huge pages before their first write.
    init(uninitializedShape shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, scalars: [Float](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            initializedCount = count
        })
    }

    /// The number of elements.
    public var count: Int { scalars.count }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// Returns the same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Returns a tensor of normally distributed values (Box-Muller) drawn from `generator`.
    ///
    /// Inlinable so that callers get a version specialised for their generator type: the
    /// generic one spends most of its time in runtime metadata lookups.
    @inlinable
    public static func randomNormal<G: RandomNumberGenerator>(
        shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout G
    ) -> Tensor {
        let count = shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: count)
        var index = 0
        while index < count {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            let angle = 2 * Double.pi * u2
            scalars[index] = mean + standardDeviation * Float(radius * Foundation.cos(angle))
            if index + 1 < count {
                scalars[index + 1] = mean + standardDeviation * Float(radius * Foundation.sin(angle))
            }
            index += 2
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Returns a tensor of values drawn uniformly from `range`.
    @inlinable
    public static func randomUniform<G: RandomNumberGenerator>(
        shape: [Int], in range: ClosedRange<Float>, using generator: inout G
    ) -> Tensor {
        let count = shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: count)
        for index in 0..<count {
            scalars[index] = Float.random(in: range, using: &generator)
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Adds `other`, of the same shape, element by element in place, on all cores.
    public mutating func add(_ other: Tensor) {
        precondition(other.shape == shape, "cannot add a tensor of shape \(other.shape) to one of shape \(shape)")
        let count = count
        scalars.withUnsafeMutableBufferPointer { target in
            other.scalars.withUnsafeBufferPointer { source in
                let (target, source) = (SendablePointer(target), SendablePointer(source))
                forEachRangeConcurrently(count: count) { range in
                    for i in range {
                        target[i] += source[i]
                    }
                }
            }
        }
    }
}

/// A small, fast, seedable random number generator (SplitMix64) for weight initialisation and
/// reproducible tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
