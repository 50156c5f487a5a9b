// `stdnet train`: trains the segmentation path of STD-Net or the early-fusion baseline on
// phantom studies generated on the fly.
import Foundation
import MemoryPolicy
import Imaging
import NeuralEngine
import Phantom
import STDNet

enum TrainCommand: Command {
    static let name = "train"
    static let summary = "train STD-Net (or the early-fusion baseline) on phantom studies"
    static let usage = """
        usage: stdnet train --out DIR --steps N [OPTIONS]

        Trains on windows cut from phantom studies generated on the fly (seeds never shared
        with evaluation sets drawn with other seeds), with lesion-balanced sampling, flips,
        intensity scale and shift, extra inter-phase shifts and dropped phases. Writes a
        checkpoint to DIR (config.json, model.safetensors, optimiser.safetensors, and
        training.json with the settings below) every --checkpoint-every steps and at the
        end. Each step averages the gradients of --batch windows, computed one at a time.
        The loss is cross-entropy (lesion voxels weighted by --lesion-weight) plus Dice on
        the segmentation, plus --per-lesion-dice times a Dice loss that counts each lesion
        once whatever its size, plus the lesion class cross-entropy of the characterisation
        head.

          --out DIR                checkpoint folder
          --steps N                optimiser steps in all
          --batch N                windows per step (default 1)
          --resume                 continue from the checkpoint in DIR, with its architecture
                                   and spacing and the settings in its training.json; options
                                   given replace the stored settings
          --architecture NAME      std-net or early-fusion (default std-net; early-fusion is scaled
                                   to the same parameter count)
          --seed S                 phantom and initialisation seed (default 1)
          --learning-rate LR       peak learning rate after warm-up (default 0.002)
          --warmup N               warm-up steps (default 5% of --steps)
          --window D,H,W           window in voxels, multiples of 8, stored in config.json
                                   for the analysis to slide (default 32,64,64)
          --spacing X,Y,Z          voxel spacing of the studies in mm (default 3,3,5)
          --motion MM              largest breathing shift between phases, 0 to 50 mm (default 10)
          --lesion-fraction F      share of windows centred on a lesion voxel; the others are
                                   centred anywhere in the liver (default 0.67)
          --lesion-centring HOW    how a lesion-centred window picks its centre: voxel (any
                                   lesion voxel, so large lesions are centres more often) or
                                   lesion (a lesion first, each alike, then any voxel of it)
                                   (default voxel)
          --per-lesion-dice W      weight from 0 to 100 of the per-lesion Dice loss, which gives
                                   small lesions as much weight as large ones (default 0, left
                                   out)
          --lesion-weight W        weight from 0.1 to 100 of lesion voxels in the cross-entropy,
                                   against 1 for background and liver (default 1)
          --checkpoint-every N     steps between checkpoints (default 200)
        """

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        restartWithPassiveOpenMPWaitUnlessSet()
        // The network allocates the same activation sizes for every window.
        keepFreedMemoryForReuse()
        warnAboutIgnoredVectorKernelSetting()
        let givenOutput = try arguments.option("out")
        let resume = try arguments.flag("resume")
        let givenArchitecture = try arguments.option("architecture")
        let architectureName = givenArchitecture ?? Architecture.stdNet.rawValue
        guard let architecture = Architecture(rawValue: architectureName) else {
            throw UsageError("--architecture must be std-net or early-fusion, got '\(architectureName)'")
        }
        let givenSpacing = try arguments.option("spacing").map { text -> Vector3 in
            guard let values: [Double] = commaSeparatedValues(text, count: 3), values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw UsageError("--spacing expects three positive numbers, got '\(text)'")
            }
            let spacing = Vector3(values[0], values[1], values[2])
            // Training renders whole phantom studies at this spacing.
            guard PhantomOptions.boundedAbdomenGrid(spacing: spacing) != nil else {
                throw UsageError("--spacing \(text) takes more than \(PhantomOptions.largestGridVoxels) voxels to span the \(PhantomOptions.abdomenFieldOfViewText) mm abdomen of the phantoms; give a coarser spacing")
            }
            return spacing
        }
        // A resumed run starts from the settings stored with its checkpoint; options override them.
        let stored = resume ? try givenOutput.flatMap { try TrainingSettings.load(from: URL(fileURLWithPath: $0)) } : nil
        var settings = stored ?? TrainingSettings()
        if resume, stored == nil, let givenOutput {
            // Copied weights have no training.json, and keep the window their model was trained on.
            let folder = URL(fileURLWithPath: givenOutput)
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
                settings.window = try ModelConfiguration.load(from: folder).slidingWindow
            }
        }
        try settings.override(from: &arguments)
        try arguments.finish()
        let output = try required(givenOutput, "--out DIR")
        let steps = try required(settings.steps, "--steps N")
        let warmup = settings.warmup ?? max(1, steps / 20)
        if let given = settings.warmup, given >= steps {
            throw UsageError("a warm-up of \(given) steps does not end before the last of the run's \(steps) steps, so the learning rate never decays: give a smaller --warmup")
        }
        var patches = PatchOptions(window: settings.window, motionMillimetres: settings.motion, lesionFraction: settings.lesionFraction,
                                   lesionCentring: settings.lesionCentring)
        if let givenSpacing { patches.spacing = givenSpacing }
        var lossSettings = SegmentationLossSettings()
        lossSettings.perLesionDiceWeight = Float(settings.perLesionDice)
        lossSettings.lesionCrossEntropyWeight = Float(settings.lesionWeight)
        let peak = Float(settings.learningRate)

        let folder = URL(fileURLWithPath: output)
        guard resume || !FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw UsageError("--out \(folder.path) already contains a model (config.json): give --resume to continue training it, or another --out to start a new run")
        }
        var trainer: SegmentationTrainer
        if resume {
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
                throw UsageError("--resume: no checkpoint found in \(folder.path) (config.json missing): leave out --resume to start a new run there")
            }
            trainer = try SegmentationTrainer.loadCheckpoint(from: folder, optimiser: AdamW(learningRate: peak))
            // The checkpoint fixes the architecture and the spacing the model works at.
            let checkpoint = trainer.model.configuration
            if givenArchitecture != nil, checkpoint.architecture != architecture {
                throw UsageError("--architecture \(architecture.rawValue) differs from the checkpoint in \(folder.path), which is \(checkpoint.architecture.rawValue): leave the option out to resume it")
            }
            let storedSpacing = Vector3(checkpoint.spacing[0], checkpoint.spacing[1], checkpoint.spacing[2])
            if givenSpacing != nil, patches.spacing != storedSpacing {
                throw UsageError("--spacing differs from the checkpoint in \(folder.path), which works at \(checkpoint.spacing.map { String($0) }.joined(separator: ",")) mm: leave the option out to resume it")
            }
            patches.spacing = storedSpacing
            if checkpoint.window != settings.window {
                // The analysis slides the window the model was last trained on.
                var configuration = checkpoint
                configuration.window = settings.window
                trainer = SegmentationTrainer(model: try STDNetModel(configuration: configuration, weights: trainer.model.weights),
                                              optimiser: trainer.optimiser)
            }
        } else {
            var configuration = ModelConfiguration(spacing: [patches.spacing.x, patches.spacing.y, patches.spacing.z])
            if architecture == .earlyFusion { configuration = matchedEarlyFusion(configuration) }
            configuration.window = settings.window
            trainer = SegmentationTrainer(model: .random(configuration, seed: settings.seed), optimiser: AdamW(learningRate: peak))
        }
        trainer.lossSettings = lossSettings
        guard trainer.optimiser.step < steps else {
            throw UsageError("the checkpoint in \(folder.path) is at step \(trainer.optimiser.step) already: give --steps above it to train on")
        }
        let schedule = LearningRateSchedule(peak: peak, warmupSteps: warmup, totalSteps: steps)
        // A resumed run draws a new stream of patients rather than repeating the first ones.
        let streamSeed = settings.seed &+ UInt64(trainer.optimiser.step)
        guard streamSeed != STDNetModel.heldOutSeed else {
            throw UsageError("this run would train on the phantom patients of seed \(streamSeed), the held-out seed of stdnet evaluate: choose another --seed (a run resumed at step N draws seed --seed + N)")
        }
        // Checked now rather than at the first checkpoint, which may be hours away.
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let probe = folder.appendingPathComponent(".stdnet-write-check-\(UUID().uuidString)")
            try Data().write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch let error as CocoaError {
            throw UsageError("cannot write checkpoints to --out \(folder.path): \(systemReason(error))")
        }
        var sampler = PhantomPatchSampler(options: patches, seed: streamSeed)
        report("training \(trainer.model.configuration.architecture.rawValue) with \(trainer.model.weights.parameterCount) parameters from step \(trainer.optimiser.step) to \(steps) on the phantom patients of seed \(streamSeed)")
        if resume, stored == nil {
            report("no \(TrainingSettings.fileName) in \(folder.path): resuming with the default settings, the window in config.json and the options given")
        }
        report((stored == nil ? "settings: " : "settings (from \(TrainingSettings.fileName) and the options given): ") + settings.summary(warmupSteps: warmup))

        var recentLosses: [Float] = []
        var windowStart = ContinuousClock.now
        var windowsSinceReport = 0
        while trainer.optimiser.step < steps {
            let step = trainer.optimiser.step
            trainer.optimiser.learningRate = schedule.rate(atStep: step)
            let windows = (0..<settings.batch).map { _ in sampler.next() }
            recentLosses.append(try trainer.step(windows))
            windowsSinceReport += settings.batch
            if recentLosses.count > 20 { recentLosses.removeFirst() }

            if (step + 1) % 10 == 0 || step + 1 == steps {
                let elapsed = ContinuousClock.now - windowStart
                let seconds = elapsed / .seconds(1)
                let mean = recentLosses.reduce(0, +) / Float(recentLosses.count)
                report(String(format: "step %d/%d loss %.4f lr %.2e windows/s %.2f", step + 1, steps, mean,
                              trainer.optimiser.learningRate, Double(windowsSinceReport) / max(seconds, 1e-9)))
                windowStart = ContinuousClock.now
                windowsSinceReport = 0
            }
            if (step + 1) % settings.checkpointEvery == 0 || step + 1 == steps {
                try trainer.saveCheckpoint(to: folder)
                try settings.save(to: folder)
            }
        }
        report("checkpoint in \(folder.path)")
        return 0
    }

    /// Writes a progress line unbuffered, so a log file shows it at once as a terminal does, after
    /// anything printed before it.
    private static func report(_ line: String) {
        fflush(nil)
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
