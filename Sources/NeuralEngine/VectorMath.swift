// Short-vector helpers for the per-row loops of the fused kernels. Swift keeps floating-point
// additions in source order, so a scalar reduction loop never vectorises; these accumulate in
// four SIMD lanes instead, which changes the rounding order but not the result beyond Float32
// rounding.

/// Returns Σ a[i] · b[i] for i in 0..<count.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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
@inline(__always)
func sum(_ a: UnsafePointer<Float>, count: Int) -> Float {
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
@inline(__always)
func sumOfSquaredDeviations(_ a: UnsafePointer<Float>, from center: Float, count: Int) -> Float {
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
