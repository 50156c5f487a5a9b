// Text forms of a patient's history: tables per lesion track and per study's response, and CSV.
import Foundation
import Wire

/// Formats the history as one table per track, the lesions not yet tracked, and the responses.
func historyTables(_ history: HistoryReply) -> String {
    var lines: [String] = []
    let analysed = history.studies.filter { $0.analysis == "succeeded" }.count
    lines.append("\(history.studies.count) \(history.studies.count == 1 ? "study" : "studies") (\(analysed) analysed), tracking \(history.tracking). Research software, not for clinical use.")
    for study in history.studies {
        lines.append("  study \(study.study) of \(study.studyDate ?? "unknown date"): \(studySummary(study))")
    }
    if history.studies.contains(where: { $0.modality == "MR" }) {
        lines.append("  MR results are not meaningful: the model was trained on CT phantoms only.")
    }

    let header = "  date        study  lesion  axial mm  perp. mm  max mm  volume mL  LI-RADS  class"
    let tracks = Set(history.studies.flatMap { $0.lesions.compactMap(\.track) }).sorted()
    for track in tracks {
        lines.append("")
        lines.append("Track \(track)")
        lines.append(header)
        for study in history.studies {
            for lesion in study.lesions where lesion.track == track {
                lines.append(lesionRow(lesion, of: study))
            }
        }
    }
    let untracked = history.studies.flatMap { study in study.lesions.filter { $0.track == nil }.map { (study, $0) } }
    if !untracked.isEmpty {
        lines.append("")
        lines.append("Not yet tracked")
        lines.append(header)
        for (study, lesion) in untracked { lines.append(lesionRow(lesion, of: study)) }
    }

    if history.studies.contains(where: { $0.lesions.contains(where: \.thresholdGrowth) }) {
        lines.append("")
        lines.append("* threshold growth (at least 50% larger within 6 months) counted in the LI-RADS category")
    }

    let followUps = history.studies.filter { !$0.responses.isEmpty || !$0.events.isEmpty }
    if !followUps.isEmpty {
        lines.append("")
        let baseline = history.studies.first { $0.analysis == "succeeded" }
        lines.append("Response against baseline (study \(baseline.map { String($0.study) } ?? "-"), \(baseline?.studyDate ?? "no date")) and nadir")
        lines.append("  date        study  RECIST 1.1                 mRECIST                    tracks (merged a>b: a into b; split a>b: b off a)")
        // A study analysed with other phases than the baseline may find other lesions because of
        // the phases alone, so its response is marked.
        var otherPhases = false
        for study in followUps {
            let criteria = ["RECIST 1.1", "mRECIST"].map { name in
                study.responses.first { $0.criteria == name }.map(responseCell) ?? "not assessable"
            }
            let events = eventsText(study.events)
            let marked = study.phases != nil && baseline?.phases != nil && study.phases != baseline?.phases
            otherPhases = otherPhases || marked
            lines.append("  " + pad(study.studyDate ?? "-", 11) + leftPad(String(study.study), 5) + (marked ? "† " : "  ")
                         + pad(criteria[0], 27) + pad(criteria[1], 27) + events)
        }
        if otherPhases {
            lines.append("† other phases than the baseline (phases in the study lines above): lesions found or missed")
            lines.append("  there may follow from the phases rather than from the disease")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Describes a study in one line: modality, the phases it has and lacks, and its analysis.
private func studySummary(_ study: StudyHistoryEntry) -> String {
    var parts: [String] = []
    if let modality = study.modality { parts.append(modality) }
    if let phases = study.phases {
        let missing = ["NC", "AP", "PV", "DP"].filter { !phases.contains($0) }
        parts.append("phases " + phases.joined(separator: " ") + (missing.isEmpty ? "" : " (no \(missing.joined(separator: ", ")))"))
    }
    var analysis = "analysis \(study.analysis)"
    if study.analysis == "succeeded" {
        analysis += study.lesions.isEmpty ? ", no lesion found" : ", \(study.lesions.count) lesion(s)"
    }
    parts.append(analysis)
    return parts.joined(separator: ", ")
}

/// Formats the history as CSV: one row per lesion and study, with the study's responses.
func historyCSV(_ history: HistoryReply) -> String {
    var rows = ["study,study_date,analysis,lesion,track,longest_axial_mm,perpendicular_mm,maximum_diameter_mm,viable_axial_mm,"
                + "volume_ml,lirads_category,threshold_growth,class,class_probability,recist,mrecist,modality,phases"]
    for study in history.studies {
        let recist = study.responses.first { $0.criteria == "RECIST 1.1" }?.category ?? ""
        let mrecist = study.responses.first { $0.criteria == "mRECIST" }?.category ?? ""
        let prefix = "\(study.study),\(study.studyDate ?? ""),\(study.analysis)"
        // Phases are separated by spaces, so the field needs no quotes.
        let suffix = ",\(study.modality ?? ""),\(study.phases?.joined(separator: " ") ?? "")"
        if study.lesions.isEmpty { rows.append(prefix + ",,,,,,,,,,,,\(recist),\(mrecist)" + suffix) }
        for lesion in study.lesions {
            let likely = mostLikelyClass(lesion)
            let fields = [
                String(lesion.lesionIndex + 1), lesion.track.map(String.init) ?? "",
                decimal(lesion.longestAxialMillimetres), decimal(lesion.perpendicularMillimetres),
                decimal(lesion.maximumDiameterMillimetres), lesion.viableAxialMillimetres.map(decimal) ?? "",
                String(format: "%.3f", lesion.volumeMillilitres), lesion.category, String(lesion.thresholdGrowth),
                likely?.name ?? "", likely.map { String(format: "%.3f", $0.probability) } ?? "", recist, mrecist,
            ]
            rows.append(prefix + "," + fields.joined(separator: ",") + suffix)
        }
    }
    return rows.joined(separator: "\n") + "\n"
}

private func lesionRow(_ lesion: LesionHistoryEntry, of study: StudyHistoryEntry) -> String {
    let likely = mostLikelyClass(lesion).map { "\($0.name) \(String(format: "%.2f", $0.probability))" } ?? "-"
    let category = lesion.category + (lesion.thresholdGrowth ? "*" : "")
    return "  " + pad(study.studyDate ?? "-", 11) + leftPad(String(study.study), 5) + leftPad(String(lesion.lesionIndex + 1), 8)
        + leftPad(decimal(lesion.longestAxialMillimetres), 10) + leftPad(decimal(lesion.perpendicularMillimetres), 10)
        + leftPad(decimal(lesion.maximumDiameterMillimetres), 8) + leftPad(String(format: "%.2f", lesion.volumeMillilitres), 11)
        + "  " + pad(category, 9) + likely
}

private func responseCell(_ response: ResponseHistoryEntry) -> String {
    let change = response.baselineSumMillimetres > 0
        ? String(format: " %+.0f%%", (response.sumMillimetres / response.baselineSumMillimetres - 1) * 100) : ""
    return "\(response.category) \(decimal(response.sumMillimetres)) mm\(change)"
}

/// Lists a study's events by kind: "new 5, 6; vanished 2; merged 3>1; split 1>7".
private func eventsText(_ events: [TrackEventEntry]) -> String {
    let kinds: [(event: String, name: String)] = [("new", "new"), ("vanished", "vanished"), ("merge", "merged"), ("split", "split")]
    return kinds.compactMap { kind in
        let items = events.filter { $0.event == kind.event }.map { event in
            event.other.map { kind.event == "merge" ? "\($0)>\(event.track)" : "\(event.track)>\($0)" } ?? String(event.track)
        }
        return items.isEmpty ? nil : "\(kind.name) \(items.joined(separator: ", "))"
    }.joined(separator: "; ")
}

private func mostLikelyClass(_ lesion: LesionHistoryEntry) -> (name: String, probability: Double)? {
    lesion.classProbabilities?.max { $0.value < $1.value }.map { ($0.key, $0.value) }
}

private func decimal(_ value: Double) -> String { String(format: "%.1f", value) }

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
}

private func leftPad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}
