import CFFmpeg
import MouthpieceCore

/// Stream facts of a media file, read with FFmpeg's demuxer (what `ffprobe` would report).
public struct MediaInfo: Sendable {
    public struct Video: Sendable {
        public let codec: String
        public let width: Int
        public let height: Int
        public let pixelFormat: String
        /// Average frame rate as a fraction.
        public let frameRate: (num: Int, den: Int)
        public let frameCount: Int
        public let duration: Double
    }

    public struct Audio: Sendable {
        public let codec: String
        public let sampleRate: Int
        public let channels: Int
        public let duration: Double
    }

    public let formatName: String
    public let duration: Double
    public let video: Video?
    public let audio: Audio?
    public let metadata: [String: String]
}

/// Reads a media file's headers and index.
public enum MediaProbe {
    public static func probe(path: String) throws -> MediaInfo {
        _ = FFmpegLogging.quiet
        var format: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&format, path, nil, nil) >= 0, let input = format else {
            throw MouthpieceError(.unsupportedAudio, "\(path) is not a readable media file.")
        }
        defer { avformat_close_input(&format) }
        guard avformat_find_stream_info(input, nil) >= 0 else {
            throw MouthpieceError(.unsupportedAudio, "\(path) has no readable streams.")
        }
        var video: MediaInfo.Video? = nil
        var audio: MediaInfo.Audio? = nil
        for i in 0..<Int(input.pointee.nb_streams) {
            guard let stream = input.pointee.streams[i], let par = stream.pointee.codecpar else { continue }
            let timeBase = stream.pointee.time_base
            let duration =
                stream.pointee.duration > 0
                ? Double(stream.pointee.duration) * Double(timeBase.num) / Double(timeBase.den) : 0
            let codec = String(cString: avcodec_get_name(par.pointee.codec_id))
            if par.pointee.codec_type == AVMEDIA_TYPE_VIDEO, video == nil {
                let rate = stream.pointee.avg_frame_rate
                let pixelName = av_get_pix_fmt_name(AVPixelFormat(par.pointee.format))
                video = MediaInfo.Video(
                    codec: codec, width: Int(par.pointee.width), height: Int(par.pointee.height),
                    pixelFormat: pixelName.map { String(cString: $0) } ?? "unknown",
                    frameRate: (Int(rate.num), Int(rate.den)), frameCount: Int(stream.pointee.nb_frames),
                    duration: duration)
            } else if par.pointee.codec_type == AVMEDIA_TYPE_AUDIO, audio == nil {
                audio = MediaInfo.Audio(
                    codec: codec, sampleRate: Int(par.pointee.sample_rate),
                    channels: Int(par.pointee.ch_layout.nb_channels), duration: duration)
            }
        }
        var metadata: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while true {
            entry = av_dict_get(input.pointee.metadata, "", entry, AV_DICT_IGNORE_SUFFIX)
            guard let current = entry else { break }
            metadata[String(cString: current.pointee.key)] = String(cString: current.pointee.value)
        }
        let total = input.pointee.duration > 0 ? Double(input.pointee.duration) / Double(AV_TIME_BASE) : 0
        return MediaInfo(
            formatName: String(cString: input.pointee.iformat.pointee.name), duration: total, video: video,
            audio: audio, metadata: metadata)
    }
}
