import NeuralEngine

/// Writes a warning to standard error when `STDNET_VECTOR_KERNELS` has a value the engine ignores.
/// The worker logs the same warning in its log format instead.
func warnAboutIgnoredVectorKernelSetting() {
    if let ignored = ignoredVectorKernelSetting {
        writeError("warning: STDNET_VECTOR_KERNELS=\(ignored.value) ignored: \(ignored.reason)\n")
    }
}
