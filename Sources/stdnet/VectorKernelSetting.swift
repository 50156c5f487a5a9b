import NeuralEngine

/// Writes a warning to standard error when `STDNET_VECTOR_KERNELS` has a value the engine ignores.
/// The worker logs the same warning in its log format instead.
func warnAboutIgnoredVectorKernelSetting() {
    if let value = ignoredVectorKernelSetting {
        writeError("warning: invalid STDNET_VECTOR_KERNELS=\(value) ignored: set it to baseline or leave it unset\n")
    }
}
