// Short-vector helpers for the per-row loops of the fused kernels. Swift keeps floating-point
// additions in source order, so a scalar reduction loop never vectorises. These helpers
// accumulate in four SIMD lanes instead, which changes only the rounding order.

/// Returns Σ a[i] · b[i] for i in 0..<count.
@inlinable @inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    let vectors = count / 4
    var lanes = SIMD4<Float>()
    let rawA = UnsafeRawPointer(a)
    let rawB = UnsafeRawPointer(b)
    for i in 0..<vectors {
        lanes += rawA.loadUnaligned(fromByteOffset: i * 16, as: SIMD4<Float>.self)
            * rawB.loadUnaligned(fromByteOffset: i * 16, as: SIMD4<Float>.self)
    }
    var sum = lanes.sum()
    for i in vectors * 4..<count {
        sum += a[i] * b[i]
    }
    return sum
}

/// Returns Σ a[i] for i in 0..<count.
@inlinable @inline(__always)
public func sum(_ a: UnsafePointer<Float>, count: Int) -> Float {
    let vectors = count / 4
    var lanes = SIMD4<Float>()
    let raw = UnsafeRawPointer(a)
    for i in 0..<vectors {
        lanes += raw.loadUnaligned(fromByteOffset: i * 16, as: SIMD4<Float>.self)
    }
    var total = lanes.sum()
    for i in vectors * 4..<count {
        total += a[i]
    }
    return total
}

/// Returns Σ (a[i] - center)² for i in 0..<count.
@inlinable @inline(__always)
public func sumOfSquaredDeviations(_ a: UnsafePointer<Float>, from center: Float, count: Int) -> Float {
    let vectors = count / 4
    var lanes = SIMD4<Float>()
    let raw = UnsafeRawPointer(a)
    for i in 0..<vectors {
        let centered = raw.loadUnaligned(fromByteOffset: i * 16, as: SIMD4<Float>.self) - center
        lanes += centered * centered
    }
    var total = lanes.sum()
    for i in vectors * 4..<count {
        total += (a[i] - center) * (a[i] - center)
    }
    return total
}

/// Loads 16 floats from any address.
@inlinable @inline(__always)
public func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
}

/// Stores 16 floats at any address.
@inlinable @inline(__always)
public func store16(_ vector: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: SIMD16<Float>.self)
}

/// e^x in every lane, with the Cephes `expf` method: x = n ln 2 + r with |r| <= ln 2 / 2, a
/// degree-6 polynomial for e^r, and 2^n built in the exponent bits. Inputs are clamped to
/// [-87, 88], so results stay normal numbers; the tests bound the error against `expf`.
@inlinable @inline(__always)
public func fastExp(_ value: SIMD4<Float>) -> SIMD4<Float> {
    exponential(ofClamped: value.replacing(with: 88, where: value .> 88).replacing(with: -87, where: value .< -87))
}

/// e^x in 16 lanes; see the four-lane version.
@inlinable @inline(__always)
public func fastExp(_ value: SIMD16<Float>) -> SIMD16<Float> {
    exponential(ofClamped: value.replacing(with: 88, where: value .> 88).replacing(with: -87, where: value .< -87))
}

/// Returns e^x for inputs in [-87, 88]: the body of `fastExp`. The clamping stays in the concrete
/// overloads, because a comparison written for any `SIMD` type builds its mask one lane at a time
/// through memory, while the concrete vector types compare all lanes in one instruction.
@usableFromInline @inline(__always)
func exponential<Vector: SIMD>(ofClamped x: Vector) -> Vector where Vector.Scalar == Float {
    // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer and leaves n in the low
    // mantissa bits of `shifted`.
    let roundingConstant: Float = 12_582_912
    let shifted = x * Float(1.442_695_04) + Vector(repeating: roundingConstant)
    let n = shifted - roundingConstant
    let r = x - n * Float(0.693_359_375) - n * Float(-2.121_944_4e-4)

    var p = Vector(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let expR = p * r * r + r + 1

    typealias Bits = Vector.MaskStorage
    let exponent = unsafeBitCast(shifted, to: Bits.self) &- Bits.Scalar(truncatingIfNeeded: roundingConstant.bitPattern)
    let twoToN = unsafeBitCast((exponent &+ 127) &<< 23, to: Vector.self)
    return expR * twoToN
}

/// erf(x) with x clamped to [-4, 4], where erf is ±1 in Float32: x·p(x²)/q(x²), the float
/// rational approximation that Eigen, XLA and TVM use (TVM's `fast_erf_float_expr`). It needs no
/// exp, so it vectorises.
@inlinable @inline(__always)
public func fastErf(_ value: SIMD4<Float>) -> SIMD4<Float> {
    // replacing(with:where:) rather than clamped(), which does not inline into a SIMD select.
    rationalErf(ofClamped: value.replacing(with: 4, where: value .> 4).replacing(with: -4, where: value .< -4))
}

/// erf(x) in 16 lanes; see the four-lane version.
@inlinable @inline(__always)
public func fastErf(_ value: SIMD16<Float>) -> SIMD16<Float> {
    rationalErf(ofClamped: value.replacing(with: 4, where: value .> 4).replacing(with: -4, where: value .< -4))
}

/// Returns erf(x) for x in [-4, 4]: the body of `fastErf`. Only the clamping needs the concrete
/// vector types, whose comparisons take one instruction (see `fastExp`).
@usableFromInline @inline(__always)
func rationalErf<Vector: SIMD>(ofClamped x: Vector) -> Vector where Vector.Scalar == Float {
    let x2 = x * x
    var p = Vector(repeating: -2.72614225801306e-10)
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 - 2.10102402082508e-06
    p = p * x2 - 5.69250639462346e-05
    p = p * x2 - 7.34990630326855e-04
    p = p * x2 - 2.95459980854025e-03
    p = p * x2 - 1.60960333262415e-02
    var q = Vector(repeating: -1.45660718464996e-05)
    q = q * x2 - 2.13374055278905e-04
    q = q * x2 - 1.68282697438203e-03
    q = q * x2 - 7.37332916720468e-03
    q = q * x2 - 1.42647390514189e-02
    return x * p / q
}
