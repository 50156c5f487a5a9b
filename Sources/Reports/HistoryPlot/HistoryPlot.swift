// The history plot: the size of each lesion track over a patient's studies, as an SVG file.
import Foundation
import Lesions

/// Positions of the history plot in SVG user units (pixels).
enum HistoryPlotLayout {
    static let width = 640.0
    static let height = 400.0
    /// The plot area. The legend sits to its right and the rotated date labels below it.
    static let plotLeft = 70.0
    static let plotRight = 480.0
    static let plotTop = 50.0
    static let plotBottom = 310.0
    /// The oldest and newest dates sit this far inside the plot area, so their markers clear the axes.
    static let dateInset = 20.0
    static let legendLeft = 500.0

    /// Returns the x of a date at `fraction` of the time between the oldest and newest date.
    static func x(fraction: Double) -> Double {
        plotLeft + dateInset + fraction * (plotRight - plotLeft - 2 * dateInset)
    }

    /// Returns the y of `diameter` millimetres on an axis from 0 to `maximum`.
    static func y(diameter: Double, maximum: Double) -> Double {
        plotBottom - diameter / maximum * (plotBottom - plotTop)
    }
}

/// Draws the longest axial diameter of each lesion track against the study date as an SVG
/// document of 640 x 400 pixels.
///
/// The x axis runs from the oldest to the newest study date, proportional to time, with a tick
/// labelled YYYY-MM-DD (UTC) at every date of any track. The y axis runs from 0 mm to the
/// largest diameter rounded up to a round step. Each track is a polyline through its sizes in
/// date order, with a marker at every size, so a track seen at one study only is a single
/// marker. Tracks take colours in the order given, and the legend names them ("track 3").
///
/// - parameters:
///   - tracks: one entry per track, drawn in this order.
///   - title: the heading, for example the patient's internal ID, escaped for XML.
/// - throws: `ReportError` when a diameter is negative, infinite or NaN.
public func historyPlotSVG(_ tracks: [TrackHistory], title: String) throws -> String {
    for history in tracks {
        if let bad = history.sizes.first(where: { !$0.diameterMillimetres.isFinite || $0.diameterMillimetres < 0 }) {
            throw ReportError("invalid diameter \(bad.diameterMillimetres) mm of track \(history.track) on \(DateAxis.label(bad.date)). Diameters must be finite and not negative")
        }
    }
    let dateAxis = DateAxis(dates: tracks.flatMap { $0.sizes.map(\.date) })
    let diameterAxis = DiameterAxis(largest: tracks.flatMap { $0.sizes.map(\.diameterMillimetres) }.max() ?? 0)

    var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(HistoryPlotLayout.width))" height="\(Int(HistoryPlotLayout.height))" \
        viewBox="0 0 \(Int(HistoryPlotLayout.width)) \(Int(HistoryPlotLayout.height))" font-family="sans-serif" font-size="12">
        <title>\(xmlEscaped(title))</title>
        <rect width="100%" height="100%" fill="white"/>
        <text class="title" x="\(svgNumber(HistoryPlotLayout.width / 2))" y="28" text-anchor="middle" font-size="16">\(xmlEscaped(title))</text>

        """
    svg += diameterAxisElements(diameterAxis)
    svg += dateAxisElements(dateAxis)
    for (index, history) in tracks.enumerated() {
        svg += trackElements(history, colour: seriesColour(index), dateAxis: dateAxis, diameterAxis: diameterAxis)
    }
    svg += legendElements(tracks)
    svg += "</svg>\n"
    return svg
}

/// Returns the y axis: its line, grid lines and labels at each tick, and its title.
private func diameterAxisElements(_ axis: DiameterAxis) -> String {
    let left = svgNumber(HistoryPlotLayout.plotLeft)
    var elements = "<g class=\"y-axis\">\n"
    for tick in axis.ticks {
        let y = svgNumber(HistoryPlotLayout.y(diameter: tick, maximum: axis.maximum))
        elements += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(svgNumber(HistoryPlotLayout.plotRight))\" y2=\"\(y)\" stroke=\"#dddddd\"/>\n"
        elements += "<text x=\"\(svgNumber(HistoryPlotLayout.plotLeft - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(String(format: "%g", tick))</text>\n"
    }
    elements += "<line x1=\"\(left)\" y1=\"\(svgNumber(HistoryPlotLayout.plotTop))\" x2=\"\(left)\" y2=\"\(svgNumber(HistoryPlotLayout.plotBottom))\" stroke=\"black\"/>\n"
    let middle = svgNumber((HistoryPlotLayout.plotTop + HistoryPlotLayout.plotBottom) / 2)
    elements += "<text x=\"20\" y=\"\(middle)\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(middle))\">longest axial diameter (mm)</text>\n"
    return elements + "</g>\n"
}

/// Returns the x axis: its line, a tick and a rotated YYYY-MM-DD label at each study date, and
/// its title.
private func dateAxisElements(_ axis: DateAxis) -> String {
    let bottom = HistoryPlotLayout.plotBottom
    var elements = "<g class=\"x-axis\">\n"
    elements += "<line x1=\"\(svgNumber(HistoryPlotLayout.plotLeft))\" y1=\"\(svgNumber(bottom))\" x2=\"\(svgNumber(HistoryPlotLayout.plotRight))\" y2=\"\(svgNumber(bottom))\" stroke=\"black\"/>\n"
    for date in axis.dates {
        let x = svgNumber(HistoryPlotLayout.x(fraction: axis.fraction(date)))
        let labelY = svgNumber(bottom + 14)
        elements += "<line x1=\"\(x)\" y1=\"\(svgNumber(bottom))\" x2=\"\(x)\" y2=\"\(svgNumber(bottom + 5))\" stroke=\"black\"/>\n"
        // Labels turned 45 degrees stay apart down to roughly 17 px between ticks (an estimate
        // for 12 px text), where level ones would need a label's full width.
        // NOTE: dates closer than that on the axis still overlap.
        elements += "<text x=\"\(x)\" y=\"\(labelY)\" text-anchor=\"end\" transform=\"rotate(-45 \(x) \(labelY))\">\(DateAxis.label(date))</text>\n"
    }
    let centre = svgNumber((HistoryPlotLayout.plotLeft + HistoryPlotLayout.plotRight) / 2)
    elements += "<text x=\"\(centre)\" y=\"\(svgNumber(HistoryPlotLayout.height - 10))\" text-anchor=\"middle\">study date</text>\n"
    return elements + "</g>\n"
}

/// Returns one track: a polyline through its sizes in date order when it has two or more, and
/// a marker at each size.
private func trackElements(_ history: TrackHistory, colour: String, dateAxis: DateAxis, diameterAxis: DiameterAxis) -> String {
    let points = history.sizes.sorted { $0.date < $1.date }.map { size in
        (x: HistoryPlotLayout.x(fraction: dateAxis.fraction(size.date)),
         y: HistoryPlotLayout.y(diameter: size.diameterMillimetres, maximum: diameterAxis.maximum))
    }
    var elements = "<g class=\"track\" data-track=\"\(history.track)\">\n"
    if points.count >= 2 {
        let coordinates = points.map { "\(svgNumber($0.x)),\(svgNumber($0.y))" }.joined(separator: " ")
        elements += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
    }
    for point in points {
        elements += "<circle cx=\"\(svgNumber(point.x))\" cy=\"\(svgNumber(point.y))\" r=\"4\" fill=\"\(colour)\"/>\n"
    }
    return elements + "</g>\n"
}

/// Returns the legend: a colour swatch and "track N" for each track, top to bottom.
private func legendElements(_ tracks: [TrackHistory]) -> String {
    // NOTE: at 20 px per entry, more than about 17 tracks run past the bottom of the image.
    var elements = "<g class=\"legend\">\n"
    for (index, history) in tracks.enumerated() {
        let y = HistoryPlotLayout.plotTop + 20 * Double(index)
        elements += "<rect x=\"\(svgNumber(HistoryPlotLayout.legendLeft))\" y=\"\(svgNumber(y - 5))\" width=\"16\" height=\"10\" fill=\"\(seriesColour(index))\"/>\n"
        elements += "<text x=\"\(svgNumber(HistoryPlotLayout.legendLeft + 22))\" y=\"\(svgNumber(y))\" dominant-baseline=\"middle\">track \(history.track)</text>\n"
    }
    return elements + "</g>\n"
}
