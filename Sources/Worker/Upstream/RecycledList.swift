/// Items collected during one round (a curl pass, a loop's delivery) and taken out whole at its end, with the two
/// buffers reused from round to round: taking the items out moves the spare buffer in to collect the next ones, and
/// a taken list given back once its items are handled becomes the spare. Copying the items out and emptying the
/// list in place instead allocates a buffer every round: the copy still shares the one being emptied.
struct RecycledList<Element> {
    private var items: [Element] = []
    private var spare: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func append(_ item: Element) {
        items.append(item)
    }

    /// The items collected so far; the list is left empty, collecting into the spare buffer.
    mutating func takeAll() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &spare)
        swap(&taken, &items)
        return taken
    }

    /// Gives back a list `takeAll` returned, once its items are handled: emptied, it is kept as the spare when its
    /// buffer is the larger.
    mutating func recycle(_ taken: inout [Element]) {
        taken.removeAll(keepingCapacity: true)
        if spare.capacity < taken.capacity { swap(&spare, &taken) }
    }
}
